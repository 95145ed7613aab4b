package mlxanomaly

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.yaml.in/yaml/v3"
)

type metadataYAML struct {
	Type   string `yaml:"type"`
	Status struct {
		Class     string              `yaml:"class"`
		Stability map[string][]string `yaml:"stability"`
	} `yaml:"status"`
	Telemetry struct {
		Metrics map[string]struct {
			Description string `yaml:"description"`
			Unit        string `yaml:"unit"`
			Sum         *struct {
				ValueType string `yaml:"value_type"`
				Monotonic bool   `yaml:"monotonic"`
			} `yaml:"sum"`
		} `yaml:"metrics"`
	} `yaml:"telemetry"`
}

// Type, stability, the processor's own metrics and the README status table are what
// metadata.yaml says.
func TestMetadataYAML(t *testing.T) {
	b, err := os.ReadFile("metadata.yaml")
	require.NoError(t, err)
	var md metadataYAML
	require.NoError(t, yaml.Unmarshal(b, &md))

	assert.Equal(t, md.Type, Type.String())
	assert.Equal(t, md.Type, NewFactory().Type().String())
	assert.Equal(t, "processor", md.Status.Class)
	assert.Equal(t, map[string][]string{"alpha": {"traces", "logs"}}, md.Status.Stability)
	assert.Equal(t, "Alpha", TracesStability.String())
	assert.Equal(t, "Alpha", LogsStability.String())
	assert.Equal(t, TracesStability, NewFactory().TracesStability())
	assert.Equal(t, LogsStability, NewFactory().LogsStability())

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	assert.Regexp(t, `\| Stability\s+\| \[alpha\]: traces, logs\s+\|`, string(readme))
	assert.Regexp(t, "\\| Component\\s+\\| `"+md.Type+"`", string(readme))

	// Every instrument of telemetry.go, as a reader sees it once each has recorded.
	reader := sdkmetric.NewManualReader()
	set := componenttest.NewNopTelemetrySettings()
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tel, err := newTelemetry(set)
	require.NoError(t, err)
	tel.keyAdded()
	tel.evicted("idle")
	tel.flagged(flagLatencySpike)
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	require.Len(t, got, len(md.Telemetry.Metrics))
	for name, y := range md.Telemetry.Metrics {
		m, ok := got[name]
		if !assert.True(t, ok, "telemetry.go has no %s", name) {
			continue
		}
		assert.Equal(t, y.Description, m.Description, name)
		assert.Equal(t, y.Unit, m.Unit, name)
		require.NotNil(t, y.Sum, name)
		sum, ok := m.Data.(metricdata.Sum[int64])
		if assert.True(t, ok, "%s is an int sum", name) {
			assert.Equal(t, y.Sum.Monotonic, sum.IsMonotonic, name)
		}
	}
}
