package mlxmetal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/plist"
)

// The figures `make bench` prints. What they cover and what needs a Mac is in the README
// ("Cost of a scrape").

func benchCapture(b *testing.B) []byte {
	b.Helper()
	doc, err := os.ReadFile(filepath.Join("testdata", "ioreg", "m1_busy.plist"))
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkParsePlist: XML plist parsing of a typical capture (ioreg mode only).
func BenchmarkParsePlist(b *testing.B) {
	doc := benchCapture(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := plist.Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvert: registry entry to typed statistics (both ioreg and IOKit modes).
func BenchmarkConvert(b *testing.B) {
	root, err := plist.Parse(benchCapture(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gpustats.FromIoreg(&root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseConvertEmit: everything an ioreg-mode scrape does in-process after the
// subprocess has written its output: parse, convert, build pmetric.Metrics.
func BenchmarkParseConvertEmit(b *testing.B) {
	doc := benchCapture(b)
	mb := metadata.NewMetricsBuilder(metadata.DefaultMetricsBuilderConfig(), component.BuildInfo{}, 1)
	s := &metalScraper{mb: mb}
	ts := pcommon.NewTimestampFromTime(time.Now())
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		acc, err := parseIoreg(doc)
		if err != nil {
			b.Fatal(err)
		}
		for i := range acc {
			s.record(&acc[i], ts)
			mb.EmitForResource(metadata.Resource{ID: acc[i].ID, Name: acc[i].Model, Vendor: acc[i].Vendor, Model: acc[i].Model})
		}
		if mb.Emit().MetricCount() == 0 {
			b.Fatal("no metrics")
		}
	}
}

// BenchmarkConvertEmit: the Go share of an IOKit-mode scrape (convert + build); the IOKit
// and CoreFoundation calls themselves need a Mac to measure.
func BenchmarkConvertEmit(b *testing.B) {
	root, err := plist.Parse(benchCapture(b))
	if err != nil {
		b.Fatal(err)
	}
	mb := metadata.NewMetricsBuilder(metadata.DefaultMetricsBuilderConfig(), component.BuildInfo{}, 1)
	s := &metalScraper{mb: mb}
	ts := pcommon.NewTimestampFromTime(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		acc, _ := gpustats.FromIoreg(&root)
		for i := range acc {
			s.record(&acc[i], ts)
			mb.EmitForResource(metadata.Resource{ID: acc[i].ID})
		}
		mb.Emit()
	}
}

// BenchmarkIOReportDiff: the arithmetic of one IOReport interval.
func BenchmarkIOReportDiff(b *testing.B) {
	f, err := loadIOReportFile(filepath.Join("testdata", "ioreport", "m1.json"))
	if err != nil {
		b.Fatal(err)
	}
	table := ioreport.NormalizeDVFS(f.DVFS)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ioreport.Diff(&f.Samples[0], &f.Samples[1], table); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubprocessSpawn: fork/exec/wait of a tiny process that prints the capture (a
// shell script running cat), the floor of what the ioreg fallback adds on any OS. On macOS
// ioreg also walks the registry, which only a Mac can measure.
func BenchmarkSubprocessSpawn(b *testing.B) {
	abs, err := filepath.Abs(filepath.Join("testdata", "fake-ioreg.sh"))
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("FAKE_IOREG_FIXTURE", filepath.Join("testdata", "ioreg", "m1_busy.plist"))
	src := &ioregSource{path: abs, timeout: 5 * time.Second, max: 1 << 20}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.read(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseIoreg drives the whole ioreg path: parse, convert, record and emit.
func FuzzParseIoreg(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "ioreg", "*.plist"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	cfg := metadata.DefaultMetricsBuilderConfig()
	cfg.Metrics.MlxmetalGpuCoreCount.Enabled = true
	cfg.Metrics.MlxmetalGpuSystemMemoryDriverInUse.Enabled = true
	f.Fuzz(func(t *testing.T, doc []byte) {
		acc, err := parseIoreg(doc)
		if err != nil {
			return
		}
		if len(acc) > gpustats.MaxAccelerators {
			t.Fatalf("%d accelerators", len(acc))
		}
		mb := metadata.NewMetricsBuilder(cfg, component.BuildInfo{}, 1)
		s := &metalScraper{mb: mb}
		for i := range acc {
			a := &acc[i]
			for _, u := range []gpustats.Opt[float64]{a.DeviceUtilization, a.RendererUtilization, a.TilerUtilization} {
				if u.OK && (u.V < 0 || u.V > 1) {
					t.Fatalf("utilization %v outside [0,1]", u.V)
				}
			}
			for _, n := range []gpustats.Opt[int64]{a.InUseSystemMemory, a.AllocSystemMemory, a.InUseDriverMemory, a.RecoveryCount} {
				if n.OK && n.V < 0 {
					t.Fatalf("negative count %d", n.V)
				}
			}
			s.record(a, 2)
			mb.EmitForResource(metadata.Resource{ID: a.ID, Name: sanitize(a.Model)})
		}
		mb.Emit()
	})
}
