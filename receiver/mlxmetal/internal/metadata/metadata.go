// Package metadata holds what mdatagen would generate for the mlxmetal receiver from its
// metadata: the component type and stability, the per-metric and per-resource-attribute
// enable flags and a metrics builder. mdatagen is not available to this project, so it is
// written by hand in the same shape.
package metadata // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

// Component type, scope name and stability.
var (
	Type      = component.MustNewType("mlxmetal")
	ScopeName = "github.com/otel-mlx/otel-mlx/receiver/mlxmetal"
)

// MetricsStability is the stability of the metrics signal.
const MetricsStability = component.StabilityLevelAlpha
