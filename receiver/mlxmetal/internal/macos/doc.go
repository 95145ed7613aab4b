// Package macos calls IOKit, CoreFoundation, libIOReport and Metal on macOS without cgo,
// through github.com/ebitengine/purego, so the collector cross-compiles for darwin with
// CGO_ENABLED=0. Libraries are opened once (sync.Once) and never closed: the collector
// keeps using them for its whole life and closing a framework is not supported by dyld.
//
// Everything here is in darwin-only files; on other platforms the package is empty and
// the receiver reports at start which sources work there.
package macos // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/macos"
