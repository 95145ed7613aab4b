// Package metadata holds what mdatagen would generate for the mlxmetal receiver from
// ../../metadata.yaml: the component type and stability, the per-metric and
// per-resource-attribute enable flags and a metrics builder. It is written by hand in the same
// shape because mdatagen cannot be installed here with verified checksums (v0.130.0, the only
// version that resolves, needs collector/filter v0.130.0, which sum.golang.org does not serve);
// metadata_test.go holds this code, the config names and the README tables to metadata.yaml.
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
