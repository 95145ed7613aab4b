package mlxc

import "github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"

// StatsSource is the MLX allocator as otelmlx's memory-statistics source: pass it to
// otelmlx.WithMemoryStats and every load and inference records mlx.memory.* and mlx.device /
// mlx.version from the MLX runtime.
type StatsSource struct {
	// Dev is the device the service computes on.
	Dev Device
}

var _ otelmlx.MemoryStatsSource = StatsSource{}

// MemoryStats reads the allocator statistics.
func (s StatsSource) MemoryStats() (otelmlx.MemoryStats, error) {
	m, err := Memory()
	if err != nil {
		return otelmlx.MemoryStats{}, err
	}
	return otelmlx.MemoryStats{Active: m.Active, Peak: m.Peak, Cache: m.Cache, Limit: m.Limit}, nil
}

// Device returns "cpu" or "gpu".
func (s StatsSource) Device() string { return s.Dev.String() }

// Version returns the MLX runtime version.
func (s StatsSource) Version() string { return Version() }
