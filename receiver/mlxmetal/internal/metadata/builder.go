package metadata // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// MetricID names a metric the builder knows.
type MetricID int

// Metric ids, in the order metrics are emitted.
const (
	HwGpuUtilization MetricID = iota
	HwGpuMemoryUsage
	HwGpuMemoryLimit
	HwEnergy
	HwPower
	HwTemperature
	MlxmetalGpuRendererUtilization
	MlxmetalGpuTilerUtilization
	MlxmetalGpuSystemMemoryAllocated
	MlxmetalGpuSystemMemoryDriverInUse
	MlxmetalGpuRecoveryCount
	MlxmetalGpuCoreCount
	MlxmetalGpuFrequency
	MlxmetalGpuActiveRatio
	numMetrics
)

type kind uint8

const (
	gauge kind = iota
	monotonicSum
	upDownSum
)

// Descriptor describes one metric (what metadata.yaml would say about it).
type Descriptor struct {
	Name        string
	Description string
	Unit        string
	kind        kind
	isInt       bool
}

// Descriptors lists every metric, indexed by MetricID.
var Descriptors = [numMetrics]Descriptor{
	HwGpuUtilization:                   {mlxconv.MetricHwGpuUtilization, "Fraction of time the GPU was busy (IOAccelerator Device Utilization %).", "1", gauge, false},
	HwGpuMemoryUsage:                   {mlxconv.MetricHwGpuMemoryUsage, "System memory in use by the GPU (IOAccelerator In use system memory); Apple GPUs share unified memory.", "By", upDownSum, true},
	HwGpuMemoryLimit:                   {mlxconv.MetricHwGpuMemoryLimit, "Memory the GPU may use: Metal's recommendedMaxWorkingSetSize, else physical memory.", "By", upDownSum, true},
	HwEnergy:                           {mlxconv.MetricHwEnergy, "Energy consumed by the GPU since the first IOReport sample (the start timestamp), from the Energy Model group.", "J", monotonicSum, false},
	HwPower:                            {mlxconv.MetricHwPower, "Mean GPU power over the last collection interval.", "W", gauge, false},
	HwTemperature:                      {mlxconv.MetricHwTemperature, "GPU temperature where the driver publishes it (AMD GPUs of Intel Macs).", "Cel", gauge, false},
	MlxmetalGpuRendererUtilization:     {mlxconv.MetricMlxmetalGpuRendererUtilization, "Fraction of time the renderer (fragment/compute) stage was busy.", "1", gauge, false},
	MlxmetalGpuTilerUtilization:        {mlxconv.MetricMlxmetalGpuTilerUtilization, "Fraction of time the tiler (vertex) stage was busy.", "1", gauge, false},
	MlxmetalGpuSystemMemoryAllocated:   {mlxconv.MetricMlxmetalGpuSystemMemoryAllocated, "System memory allocated to the GPU (IOAccelerator Alloc system memory).", "By", upDownSum, true},
	MlxmetalGpuSystemMemoryDriverInUse: {mlxconv.MetricMlxmetalGpuSystemMemoryDriverInUse, "System memory in use by the GPU driver itself.", "By", upDownSum, true},
	MlxmetalGpuRecoveryCount:           {mlxconv.MetricMlxmetalGpuRecoveryCount, "GPU recoveries (hangs the driver reset) since boot.", "{recovery}", monotonicSum, true},
	MlxmetalGpuCoreCount:               {mlxconv.MetricMlxmetalGpuCoreCount, "Number of GPU cores.", "{core}", upDownSum, true},
	MlxmetalGpuFrequency:               {mlxconv.MetricMlxmetalGpuFrequency, "Residency-weighted mean GPU frequency over the interval while active (IOReport + DVFS table).", "Hz", gauge, false},
	MlxmetalGpuActiveRatio:             {mlxconv.MetricMlxmetalGpuActiveRatio, "Fraction of the interval the GPU spent in an active performance state (IOReport GPU residency).", "1", gauge, false},
}

func (mc *MetricsConfig) enabled(id MetricID) bool {
	switch id {
	case HwGpuUtilization:
		return mc.HwGpuUtilization.Enabled
	case HwGpuMemoryUsage:
		return mc.HwGpuMemoryUsage.Enabled
	case HwGpuMemoryLimit:
		return mc.HwGpuMemoryLimit.Enabled
	case HwEnergy:
		return mc.HwEnergy.Enabled
	case HwPower:
		return mc.HwPower.Enabled
	case HwTemperature:
		return mc.HwTemperature.Enabled
	case MlxmetalGpuRendererUtilization:
		return mc.MlxmetalGpuRendererUtilization.Enabled
	case MlxmetalGpuTilerUtilization:
		return mc.MlxmetalGpuTilerUtilization.Enabled
	case MlxmetalGpuSystemMemoryAllocated:
		return mc.MlxmetalGpuSystemMemoryAllocated.Enabled
	case MlxmetalGpuSystemMemoryDriverInUse:
		return mc.MlxmetalGpuSystemMemoryDriverInUse.Enabled
	case MlxmetalGpuRecoveryCount:
		return mc.MlxmetalGpuRecoveryCount.Enabled
	case MlxmetalGpuCoreCount:
		return mc.MlxmetalGpuCoreCount.Enabled
	case MlxmetalGpuFrequency:
		return mc.MlxmetalGpuFrequency.Enabled
	case MlxmetalGpuActiveRatio:
		return mc.MlxmetalGpuActiveRatio.Enabled
	}
	return false
}

// Resource identifies the GPU a set of data points belongs to.
type Resource struct {
	ID, Name, Vendor, Model string
}

// MetricsBuilder collects data points for one resource at a time and emits them as
// pmetric.Metrics, honouring the enable flags.
type MetricsBuilder struct {
	cfg     MetricsBuilderConfig
	start   pcommon.Timestamp
	version string
	enabled [numMetrics]bool
	points  [numMetrics]point
	out     pmetric.Metrics
}

type point struct {
	set   bool
	start pcommon.Timestamp // 0: the builder's start
	ts    pcommon.Timestamp
	f     float64
	i     int64
}

// NewMetricsBuilder returns a builder; start is the start time of cumulative sums.
func NewMetricsBuilder(cfg MetricsBuilderConfig, set component.BuildInfo, start pcommon.Timestamp) *MetricsBuilder {
	mb := &MetricsBuilder{cfg: cfg, start: start, version: set.Version, out: pmetric.NewMetrics()}
	for id := MetricID(0); id < numMetrics; id++ {
		mb.enabled[id] = cfg.Metrics.enabled(id)
	}
	return mb
}

// Enabled reports whether a metric is on.
func (mb *MetricsBuilder) Enabled(id MetricID) bool { return mb.enabled[id] }

// AnyEnabled reports whether any of ids is on; sources use it to skip work nobody reads.
func (mb *MetricsBuilder) AnyEnabled(ids ...MetricID) bool {
	for _, id := range ids {
		if mb.enabled[id] {
			return true
		}
	}
	return false
}

// RecordDouble records a floating-point data point; a disabled metric is ignored.
func (mb *MetricsBuilder) RecordDouble(id MetricID, ts pcommon.Timestamp, v float64) {
	if !mb.enabled[id] {
		return
	}
	if Descriptors[id].isInt {
		mb.points[id] = point{set: true, ts: ts, i: int64(v)}
		return
	}
	mb.points[id] = point{set: true, ts: ts, f: v}
}

// RecordDoubleSince records a cumulative data point whose count began at start rather than
// at the builder's start (IOReport energy is counted from the first sample, the baseline).
func (mb *MetricsBuilder) RecordDoubleSince(id MetricID, start, ts pcommon.Timestamp, v float64) {
	mb.RecordDouble(id, ts, v)
	if mb.enabled[id] {
		mb.points[id].start = start
	}
}

// RecordInt records an integer data point; a disabled metric is ignored.
func (mb *MetricsBuilder) RecordInt(id MetricID, ts pcommon.Timestamp, v int64) {
	if !mb.enabled[id] {
		return
	}
	if Descriptors[id].isInt {
		mb.points[id] = point{set: true, ts: ts, i: v}
		return
	}
	mb.points[id] = point{set: true, ts: ts, f: float64(v)}
}

// EmitForResource moves the recorded data points into a new ResourceMetrics for res.
// Nothing is appended when no data point was recorded.
func (mb *MetricsBuilder) EmitForResource(res Resource) {
	any := false
	for id := range mb.points {
		if mb.points[id].set {
			any = true
			break
		}
	}
	if !any {
		return
	}
	rm := mb.out.ResourceMetrics().AppendEmpty()
	attrs := rm.Resource().Attributes()
	ra := &mb.cfg.ResourceAttributes
	putStr := func(on bool, k, v string) {
		if on && v != "" {
			attrs.PutStr(k, v)
		}
	}
	putStr(ra.HwID.Enabled, mlxconv.AttrHwID, res.ID)
	putStr(ra.HwName.Enabled, mlxconv.AttrHwName, res.Name)
	putStr(ra.HwVendor.Enabled, mlxconv.AttrHwVendor, res.Vendor)
	putStr(ra.HwModel.Enabled, mlxconv.AttrHwModel, res.Model)
	putStr(ra.HwType.Enabled, mlxconv.AttrHwType, mlxconv.HwTypeGPU)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(ScopeName)
	sm.Scope().SetVersion(mb.version)
	ms := sm.Metrics()
	for id := range mb.points {
		p := &mb.points[id]
		if !p.set {
			continue
		}
		d := &Descriptors[id]
		m := ms.AppendEmpty()
		m.SetName(d.Name)
		m.SetDescription(d.Description)
		m.SetUnit(d.Unit)
		var dp pmetric.NumberDataPoint
		switch d.kind {
		case gauge:
			dp = m.SetEmptyGauge().DataPoints().AppendEmpty()
		default:
			s := m.SetEmptySum()
			s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			s.SetIsMonotonic(d.kind == monotonicSum)
			dp = s.DataPoints().AppendEmpty()
			start := mb.start
			if p.start != 0 {
				start = p.start
			}
			dp.SetStartTimestamp(start)
		}
		dp.SetTimestamp(p.ts)
		if d.isInt {
			dp.SetIntValue(p.i)
		} else {
			dp.SetDoubleValue(p.f)
		}
		*p = point{}
	}
}

// Emit returns the metrics emitted so far and resets the builder.
func (mb *MetricsBuilder) Emit() pmetric.Metrics {
	out := mb.out
	mb.out = pmetric.NewMetrics()
	return out
}
