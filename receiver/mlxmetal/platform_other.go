//go:build !darwin

package mlxmetal // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"

import (
	"fmt"
	"runtime"
)

// unsupported names the platform and what works on it, so the start error says what to do.
func unsupported(what string) error {
	return fmt.Errorf("%s needs macOS with a Metal GPU; this collector runs on %s/%s: "+
		"use source %q with file.path (replays a captured `ioreg -a -r -d 1 -c IOAccelerator` plist, works everywhere), "+
		"or source %q where an ioreg binary exists", what, runtime.GOOS, runtime.GOARCH, SourceFile, SourceIoreg)
}

func newIOKitSource() (statsSource, error) {
	return nil, unsupported(fmt.Sprintf("source %q", SourceIOKit))
}

func newIOReportSource() (energySource, []string, error) {
	return nil, nil, unsupported("ioreport.enabled (outside source \"file\")")
}

func hostMemoryLimit(string) (uint64, error) {
	return 0, fmt.Errorf("no Metal memory limit on %s", runtime.GOOS)
}
