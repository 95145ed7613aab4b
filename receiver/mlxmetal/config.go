package mlxmetal // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"
)

// Source names.
const (
	SourceIOKit = "iokit"
	SourceIoreg = "ioreg"
	SourceFile  = "file"
)

// Config is the mlxmetal receiver configuration.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	metadata.MetricsBuilderConfig  `mapstructure:",squash"`

	// Source is where PerformanceStatistics come from: iokit (default; macOS), ioreg (runs
	// the ioreg command; macOS) or file (replays a captured `ioreg -a` plist; any OS).
	Source string `mapstructure:"source"`

	Ioreg    IoregConfig    `mapstructure:"ioreg"`
	File     FileConfig     `mapstructure:"file"`
	IOReport IOReportConfig `mapstructure:"ioreport"`

	// MemoryLimit picks hw.gpu.memory.limit: auto (Metal's recommended working set, else
	// physical memory), physical, or none.
	MemoryLimit string `mapstructure:"memory_limit"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// IoregConfig configures the ioreg subprocess source.
type IoregConfig struct {
	// Path of the ioreg binary.
	Path string `mapstructure:"path"`
	// Timeout bounds one ioreg run; it is killed after that.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxOutputBytes bounds what is read from ioreg.
	MaxOutputBytes int `mapstructure:"max_output_bytes"`
}

// FileConfig configures the file (replay) source.
type FileConfig struct {
	// Path of a captured `ioreg -a -r -d 1 -c IOAccelerator` plist, read on every scrape.
	Path string `mapstructure:"path"`
	// IOReportPath optionally names a JSON file of IOReport samples (see
	// testdata/ioreport/*.json) replayed one per scrape when ioreport is enabled.
	IOReportPath string `mapstructure:"ioreport_path"`
	// MemoryLimitBytes is reported as hw.gpu.memory.limit for the replayed machine (0: none).
	MemoryLimitBytes int64 `mapstructure:"memory_limit_bytes"`
}

// IOReportConfig turns on the IOReport source of energy, power, frequency and residency.
type IOReportConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

// Memory limit modes.
const (
	MemoryLimitAuto     = "auto"
	MemoryLimitPhysical = "physical"
	MemoryLimitNone     = "none"
)

const maxIoregOutput = 64 << 20

// Validate checks the configuration; messages say what is wrong and what to set.
func (cfg *Config) Validate() error {
	var errs []error
	switch cfg.Source {
	case SourceIOKit, SourceIoreg:
	case SourceFile:
		if cfg.File.Path == "" {
			errs = append(errs, errors.New(`source "file" needs file.path: the path of a captured "ioreg -a -r -d 1 -c IOAccelerator" plist`))
		}
		if cfg.IOReport.Enabled && cfg.File.IOReportPath == "" {
			errs = append(errs, errors.New(`ioreport.enabled with source "file" needs file.ioreport_path (a JSON file of IOReport samples to replay), or set ioreport.enabled: false`))
		}
		if cfg.File.MemoryLimitBytes < 0 {
			errs = append(errs, fmt.Errorf("file.memory_limit_bytes is %d: set a byte count >= 0 (0 reports no limit)", cfg.File.MemoryLimitBytes))
		}
	default:
		errs = append(errs, fmt.Errorf("source %q is not known: use %q (macOS, default), %q (macOS, runs ioreg) or %q (replays a capture)", cfg.Source, SourceIOKit, SourceIoreg, SourceFile))
	}
	if cfg.Source == SourceIoreg {
		if cfg.Ioreg.Path == "" {
			errs = append(errs, errors.New(`source "ioreg" needs ioreg.path (normally /usr/sbin/ioreg)`))
		}
		if cfg.Ioreg.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("ioreg.timeout is %s: set a positive duration such as 2s", cfg.Ioreg.Timeout))
		} else if cfg.CollectionInterval > 0 && cfg.Ioreg.Timeout > cfg.CollectionInterval {
			errs = append(errs, fmt.Errorf("ioreg.timeout %s is longer than collection_interval %s: lower the timeout so runs cannot pile up", cfg.Ioreg.Timeout, cfg.CollectionInterval))
		}
		if cfg.Ioreg.MaxOutputBytes <= 0 || cfg.Ioreg.MaxOutputBytes > maxIoregOutput {
			errs = append(errs, fmt.Errorf("ioreg.max_output_bytes is %d: set 1..%d (an IOAccelerator capture is under 64 KiB)", cfg.Ioreg.MaxOutputBytes, maxIoregOutput))
		}
	}
	switch cfg.MemoryLimit {
	case MemoryLimitAuto, MemoryLimitPhysical, MemoryLimitNone:
	default:
		errs = append(errs, fmt.Errorf("memory_limit %q is not known: use %q, %q or %q", cfg.MemoryLimit, MemoryLimitAuto, MemoryLimitPhysical, MemoryLimitNone))
	}
	return errors.Join(errs...)
}
