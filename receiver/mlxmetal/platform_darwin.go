//go:build darwin

package mlxmetal // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"

import (
	"context"
	"fmt"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/gpustats"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/ioreport"
	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/macos"
)

// iokitSource reads the registry in-process through IOKit (no subprocess, no sudo).
type iokitSource struct{}

func newIOKitSource() (statsSource, error) {
	if err := macos.Load(); err != nil {
		return nil, fmt.Errorf("loading IOKit/CoreFoundation: %w; source %q works without them", err, SourceIoreg)
	}
	return iokitSource{}, nil
}

func (iokitSource) read(context.Context) ([]gpustats.Accelerator, error) {
	root, err := macos.ReadAccelerators()
	if err != nil {
		return nil, fmt.Errorf("iokit: %w", err)
	}
	acc, err := gpustats.FromIoreg(&root)
	if err != nil {
		return nil, fmt.Errorf("iokit: %w: this Mac has no Metal GPU in the I/O registry", err)
	}
	return acc, nil
}

// liveEnergy keeps one IOReport subscription for the receiver's life.
type liveEnergy struct {
	sub   *macos.Subscription
	table []float64
}

func newIOReportSource() (energySource, []string, error) {
	sub, err := macos.Subscribe()
	if err != nil {
		return nil, nil, fmt.Errorf("ioreport: %w (set ioreport.enabled: false to run without energy and frequency)", err)
	}
	var warnings []string
	var table []float64
	if raw, err := macos.GPUVoltageStates(); err != nil {
		warnings = append(warnings, "no GPU DVFS table, mlxmetal.gpu.frequency is omitted: "+err.Error())
	} else if freqs, err := ioreport.ParseVoltageStates(raw); err != nil {
		warnings = append(warnings, "GPU DVFS table unreadable, mlxmetal.gpu.frequency is omitted: "+err.Error())
	} else if table = ioreport.NormalizeDVFS(freqs); table == nil {
		warnings = append(warnings, "GPU DVFS table has no plausible frequencies, mlxmetal.gpu.frequency is omitted")
	}
	return &liveEnergy{sub: sub, table: table}, warnings, nil
}

func (l *liveEnergy) sample(context.Context) (ioreport.Sample, error) { return l.sub.Sample() }
func (l *liveEnergy) dvfs() []float64                                 { return l.table }
func (l *liveEnergy) close()                                          { l.sub.Close() }

// hostMemoryLimit returns the GPU memory limit of this Mac for memory_limit mode.
func hostMemoryLimit(mode string) (uint64, error) {
	if mode == MemoryLimitAuto {
		if n, err := macos.MetalRecommendedMaxWorkingSetSize(); err == nil {
			return n, nil
		}
	}
	return macos.PhysicalMemory()
}
