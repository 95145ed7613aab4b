package metadata

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestBuilderFlagsAndShapes(t *testing.T) {
	cfg := DefaultMetricsBuilderConfig()
	cfg.Metrics.HwPower.Enabled = false
	cfg.ResourceAttributes.HwVendor.Enabled = false
	mb := NewMetricsBuilder(cfg, component.BuildInfo{Version: "v1"}, 100)

	mb.EmitForResource(Resource{ID: "gpu0"})
	assert.Equal(t, 0, mb.Emit().ResourceMetrics().Len(), "no data point, no resource")

	mb.RecordDouble(HwPower, 200, 5)
	mb.RecordDouble(HwGpuUtilization, 200, 0.5)
	mb.RecordInt(HwGpuMemoryUsage, 200, 42)
	mb.RecordDouble(MlxmetalGpuRecoveryCount, 200, 3) // int metric given a float
	mb.RecordDoubleSince(HwEnergy, 150, 200, 1.5)
	mb.EmitForResource(Resource{ID: "gpu0", Name: "Apple M1", Vendor: "Apple", Model: ""})
	md := mb.Emit()
	require.Equal(t, 1, md.ResourceMetrics().Len())
	rm := md.ResourceMetrics().At(0)
	assert.Equal(t, map[string]any{"hw.id": "gpu0", "hw.name": "Apple M1", "hw.type": "gpu"}, rm.Resource().Attributes().AsRaw(),
		"disabled and empty attributes are left out")
	ms := rm.ScopeMetrics().At(0).Metrics()
	require.Equal(t, 4, ms.Len(), "hw.power is disabled")
	byName := map[string]pmetric.Metric{}
	for i := 0; i < ms.Len(); i++ {
		byName[ms.At(i).Name()] = ms.At(i)
	}
	u := byName["hw.gpu.utilization"]
	assert.Equal(t, pmetric.MetricTypeGauge, u.Type())
	assert.Equal(t, 0.5, u.Gauge().DataPoints().At(0).DoubleValue())
	mem := byName["hw.gpu.memory.usage"]
	assert.Equal(t, pmetric.MetricTypeSum, mem.Type())
	assert.False(t, mem.Sum().IsMonotonic())
	assert.Equal(t, pcommon.Timestamp(100), mem.Sum().DataPoints().At(0).StartTimestamp())
	assert.Equal(t, int64(42), mem.Sum().DataPoints().At(0).IntValue())
	rc := byName["mlxmetal.gpu.recovery.count"]
	assert.True(t, rc.Sum().IsMonotonic())
	assert.Equal(t, int64(3), rc.Sum().DataPoints().At(0).IntValue())
	e := byName["hw.energy"]
	assert.Equal(t, pcommon.Timestamp(150), e.Sum().DataPoints().At(0).StartTimestamp())
	assert.Equal(t, "J", e.Unit())

	// Points are consumed by EmitForResource: the next resource starts empty.
	mb.EmitForResource(Resource{ID: "gpu1"})
	assert.Equal(t, 0, mb.Emit().ResourceMetrics().Len())
}

func TestDescriptorsComplete(t *testing.T) {
	seen := map[string]bool{}
	for id, d := range Descriptors {
		assert.NotEmpty(t, d.Name, "metric %d", id)
		assert.NotEmpty(t, d.Unit, d.Name)
		assert.False(t, seen[d.Name], "duplicate %s", d.Name)
		seen[d.Name] = true
	}
	assert.Len(t, seen, int(numMetrics))
}
