package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"go.opentelemetry.io/collector/component"
)

// What mdatagen would generate from a metadata.yaml (not available here), written by hand.
var (
	// Type is the component type of the processor in collector configurations.
	Type = component.MustNewType("mlxanomaly")
	// ScopeName is the instrumentation scope of the processor's own telemetry.
	ScopeName = "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

const (
	// TracesStability and LogsStability are the stability levels of the two signals.
	TracesStability = component.StabilityLevelAlpha
	LogsStability   = component.StabilityLevelAlpha
)
