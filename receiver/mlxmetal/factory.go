// Package mlxmetal is a collector receiver that scrapes Metal GPU statistics of the
// Apple silicon (or Intel) Mac it runs on: utilization, memory, recoveries from the IOKit
// registry and, opt-in, energy, power, frequency and residency from IOReport.
package mlxmetal // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"
)

// NewFactory returns the receiver factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithMetrics(createMetrics, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	cc := scraperhelper.NewDefaultControllerConfig()
	cc.CollectionInterval = 10 * time.Second
	return &Config{
		ControllerConfig:     cc,
		MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
		Source:               SourceIOKit,
		Ioreg:                IoregConfig{Path: "/usr/sbin/ioreg", Timeout: 2 * time.Second, MaxOutputBytes: 4 << 20},
		MemoryLimit:          MemoryLimitAuto,
	}
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, errors.New("mlxmetal: unexpected config type")
	}
	s := newScraper(c, set)
	sc, err := scraper.NewMetrics(s.scrape, scraper.WithStart(s.start), scraper.WithShutdown(s.shutdown))
	if err != nil {
		return nil, err
	}
	return scraperhelper.NewMetricsController(&c.ControllerConfig, set, next,
		scraperhelper.AddMetricsScraper(metadata.Type, sc))
}
