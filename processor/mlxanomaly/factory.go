package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

// NewFactory returns the factory of the mlxanomaly processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(Type, createDefaultConfig,
		processor.WithTraces(createTraces, TracesStability),
		processor.WithLogs(createLogs, LogsStability))
}

// shared holds one engine per component ID, so that the traces and the logs processor of the
// same `mlxanomaly/<name>` see one state: a model loaded in a span and denied in a log record is
// the same model. The engine lives while any of its processors is created and not shut down.
var shared = struct {
	sync.Mutex
	m map[component.ID]*sharedEngine
}{m: map[component.ID]*sharedEngine{}}

type sharedEngine struct {
	e    *engine
	refs int
}

func acquire(set processor.Settings, cfg *Config) (*engine, func(), error) {
	shared.Lock()
	defer shared.Unlock()
	se, ok := shared.m[set.ID]
	if !ok {
		tel, err := newTelemetry(set.TelemetrySettings)
		if err != nil {
			return nil, nil, err
		}
		se = &sharedEngine{e: newEngine(cfg, tel)}
		shared.m[set.ID] = se
	}
	se.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			shared.Lock()
			defer shared.Unlock()
			se.refs--
			if se.refs <= 0 && shared.m[set.ID] == se {
				delete(shared.m, set.ID)
			}
		})
	}
	return se.e, release, nil
}

func newAnomalyProcessor(set processor.Settings, cfg component.Config) (*anomalyProcessor, func(), error) {
	c, ok := cfg.(*Config)
	if !ok {
		return nil, nil, errors.New("mlxanomaly: configuration is not *mlxanomaly.Config")
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	e, release, err := acquire(set, c)
	if err != nil {
		return nil, nil, err
	}
	return &anomalyProcessor{e: e}, release, nil
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, release, err := newAnomalyProcessor(set, cfg)
	if err != nil {
		return nil, err
	}
	tp, err := processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(func(context.Context) error { release(); return nil }))
	if err != nil {
		release()
	}
	return tp, err
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, release, err := newAnomalyProcessor(set, cfg)
	if err != nil {
		return nil, err
	}
	lp, err := processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}),
		processorhelper.WithShutdown(func(context.Context) error { release(); return nil }))
	if err != nil {
		release()
	}
	return lp, err
}
