//go:build darwin

package macos

import (
	"testing"
	"time"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
)

// These run only on a Mac (they are cross-compiled and linked by `make crossbuild-metal`).

func TestReadAccelerators(t *testing.T) {
	root, err := ReadAccelerators()
	if err != nil {
		t.Fatal(err)
	}
	acc, err := gpustats.FromIoreg(&root)
	if err != nil {
		t.Fatalf("no accelerator: %v", err)
	}
	for _, a := range acc {
		t.Logf("%s %s %q vendor=%s cores=%v util=%v inuse=%v", a.ID, a.Class, a.Model, a.Vendor, a.Cores, a.DeviceUtilization, a.InUseSystemMemory)
		if !a.HasStats() {
			t.Errorf("%s has no PerformanceStatistics", a.ID)
		}
	}
}

func TestMemoryLimits(t *testing.T) {
	phys, err := PhysicalMemory()
	if err != nil || phys < 1<<30 {
		t.Fatalf("hw.memsize %d, %v", phys, err)
	}
	if n, err := MetalRecommendedMaxWorkingSetSize(); err != nil {
		t.Logf("no Metal limit: %v", err)
	} else if n == 0 || n > 2*phys {
		t.Errorf("recommendedMaxWorkingSetSize %d for %d bytes of RAM", n, phys)
	}
}

func TestIOReportSubscription(t *testing.T) {
	sub, err := Subscribe()
	if err != nil {
		t.Skipf("IOReport: %v", err)
	}
	defer sub.Close()
	a, err := sub.Sample()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	b, err := sub.Sample()
	if err != nil {
		t.Fatal(err)
	}
	var table []float64
	if raw, err := GPUVoltageStates(); err == nil {
		if f, err := ioreport.ParseVoltageStates(raw); err == nil {
			table = ioreport.NormalizeDVFS(f)
		}
	}
	r, err := ioreport.Diff(&a, &b, table)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("channels=%d dvfs=%v result=%+v", len(b.Channels), table, r)
	if !r.HasActiveRatio && !r.HasEnergy {
		t.Errorf("neither energy nor residency from IOReport")
	}
}

// BenchmarkReadAccelerators is the IOKit part of one scrape (target: well under 1 ms CPU).
func BenchmarkReadAccelerators(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadAccelerators(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIOReportSample is the IOReport part of one scrape when enabled.
func BenchmarkIOReportSample(b *testing.B) {
	sub, err := Subscribe()
	if err != nil {
		b.Skip(err)
	}
	defer sub.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sub.Sample(); err != nil {
			b.Fatal(err)
		}
	}
}
