package mlxconv

import semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

// Metric names of the instrumentation. The GenAI names are semconv's (genaiconv); a test
// holds the literals to genaiconv's Name methods.
const (
	MetricGenAIClientOperationDuration = "gen_ai.client.operation.duration"
	MetricGenAIClientTokenUsage        = "gen_ai.client.token.usage"
	MetricModelLoadDuration            = "mlx.model.load.duration"
	MetricMemoryActive                 = "mlx.memory.active"
	MetricMemoryPeak                   = "mlx.memory.peak"
	MetricMemoryCache                  = "mlx.memory.cache"
)

// Metric names of the mlxmetal receiver: semantic-convention hw.* names where they exist
// (a test holds them to hwconv), mlxmetal.* for what only Apple GPUs report.
const (
	MetricHwGpuUtilization                   = "hw.gpu.utilization"
	MetricHwGpuMemoryUsage                   = "hw.gpu.memory.usage"
	MetricHwGpuMemoryLimit                   = "hw.gpu.memory.limit"
	MetricHwEnergy                           = "hw.energy"
	MetricHwPower                            = "hw.power"
	MetricHwTemperature                      = "hw.temperature"
	MetricMlxmetalGpuRendererUtilization     = "mlxmetal.gpu.renderer.utilization"
	MetricMlxmetalGpuTilerUtilization        = "mlxmetal.gpu.tiler.utilization"
	MetricMlxmetalGpuSystemMemoryAllocated   = "mlxmetal.gpu.system_memory.allocated"
	MetricMlxmetalGpuSystemMemoryDriverInUse = "mlxmetal.gpu.system_memory.driver_in_use"
	MetricMlxmetalGpuRecoveryCount           = "mlxmetal.gpu.recovery.count"
	MetricMlxmetalGpuCoreCount               = "mlxmetal.gpu.core.count"
	MetricMlxmetalGpuFrequency               = "mlxmetal.gpu.frequency"
	MetricMlxmetalGpuActiveRatio             = "mlxmetal.gpu.active.ratio"
)

// Resource attributes of the mlxmetal receiver (semconv hw.*).
const (
	AttrHwID     = string(semconv.HwIDKey)
	AttrHwName   = string(semconv.HwNameKey)
	AttrHwVendor = string(semconv.HwVendorKey)
	AttrHwModel  = string(semconv.HwModelKey)
	AttrHwType   = string(semconv.HwTypeKey)
)

// HwTypeGPU is the hw.type of every mlxmetal resource.
const HwTypeGPU = "gpu"
