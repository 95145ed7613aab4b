package mlxfinding // import "github.com/otel-mlx/otel-mlx/connector/mlxfinding"

import "go.opentelemetry.io/collector/component"

// What mdatagen would generate from metadata.yaml, written by hand.
var (
	// Type is the component type of the connector in collector configurations.
	Type = component.MustNewType("mlxfinding")
	// ScopeName is the instrumentation scope of the finding log records.
	ScopeName = "github.com/otel-mlx/otel-mlx/connector/mlxfinding"
)

const (
	// TracesToLogsStability and LogsToLogsStability are the stability levels of the two pairs.
	TracesToLogsStability = component.StabilityLevelAlpha
	LogsToLogsStability   = component.StabilityLevelAlpha
)
