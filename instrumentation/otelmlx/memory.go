package otelmlx

// MemoryStats are MLX allocator statistics in bytes.
type MemoryStats struct {
	Active int64 // memory held by live arrays
	Peak   int64 // highest Active since the last reset
	Cache  int64 // freed memory the allocator keeps for reuse
	Limit  int64 // the allocator's memory limit; 0 if unknown
}

// MemoryStatsSource reads MLX allocator statistics. The wrappers read it once at the end of
// every operation, so it must be cheap and safe for concurrent use.
//
// A source may also implement Device() string ("cpu" or "gpu") and Version() string (the MLX
// runtime version); the instrumentation then records mlx.device and mlx.version from it.
type MemoryStatsSource interface {
	MemoryStats() (MemoryStats, error)
}

type deviceReporter interface{ Device() string }
type versionReporter interface{ Version() string }
