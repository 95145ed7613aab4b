//go:build darwin

package mlxmetal

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

// On a Mac the default source scrapes the real GPU (run by `make test` there).
func TestIOKitScrape(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.IOReport.Enabled = true
	s, _ := newTestScraper(t, cfg)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()
	for i := 0; i < 2; i++ {
		md, err := s.scrape(context.Background())
		require.NoError(t, err)
		require.Positive(t, md.MetricCount())
	}
}

// BenchmarkIOKitScrape is one complete IOKit-mode scrape (IOKit + convert + build); the
// issue's budget is 1 ms of CPU.
func BenchmarkIOKitScrape(b *testing.B) {
	s := newScraper(createDefaultConfig().(*Config), receivertestSettings())
	if err := s.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.scrape(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIoregScrape is one ioreg-fallback read with the real /usr/sbin/ioreg: spawn,
// registry walk, parse and convert.
func BenchmarkIoregScrape(b *testing.B) {
	src := &ioregSource{path: "/usr/sbin/ioreg", timeout: 5 * time.Second, max: 4 << 20}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.read(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
