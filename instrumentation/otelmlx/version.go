package otelmlx

// ScopeName is the instrumentation scope name of every tracer, meter and logger of this package.
const ScopeName = "github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"

// Version is the version of this instrumentation library.
func Version() string { return "0.1.0" }
