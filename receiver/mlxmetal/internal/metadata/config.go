package metadata // import "github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"

// MetricConfig enables or disables one metric.
type MetricConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

// MetricsConfig holds one flag per metric the receiver can emit.
type MetricsConfig struct {
	HwGpuUtilization                   MetricConfig `mapstructure:"hw.gpu.utilization"`
	HwGpuMemoryUsage                   MetricConfig `mapstructure:"hw.gpu.memory.usage"`
	HwGpuMemoryLimit                   MetricConfig `mapstructure:"hw.gpu.memory.limit"`
	HwEnergy                           MetricConfig `mapstructure:"hw.energy"`
	HwPower                            MetricConfig `mapstructure:"hw.power"`
	HwTemperature                      MetricConfig `mapstructure:"hw.temperature"`
	MlxmetalGpuRendererUtilization     MetricConfig `mapstructure:"mlxmetal.gpu.renderer.utilization"`
	MlxmetalGpuTilerUtilization        MetricConfig `mapstructure:"mlxmetal.gpu.tiler.utilization"`
	MlxmetalGpuSystemMemoryAllocated   MetricConfig `mapstructure:"mlxmetal.gpu.system_memory.allocated"`
	MlxmetalGpuSystemMemoryDriverInUse MetricConfig `mapstructure:"mlxmetal.gpu.system_memory.driver_in_use"`
	MlxmetalGpuRecoveryCount           MetricConfig `mapstructure:"mlxmetal.gpu.recovery.count"`
	MlxmetalGpuCoreCount               MetricConfig `mapstructure:"mlxmetal.gpu.core.count"`
	MlxmetalGpuFrequency               MetricConfig `mapstructure:"mlxmetal.gpu.frequency"`
	MlxmetalGpuActiveRatio             MetricConfig `mapstructure:"mlxmetal.gpu.active.ratio"`
}

// DefaultMetricsConfig returns the default flags (see the README table).
func DefaultMetricsConfig() MetricsConfig {
	on, off := MetricConfig{Enabled: true}, MetricConfig{Enabled: false}
	return MetricsConfig{
		HwGpuUtilization:                   on,
		HwGpuMemoryUsage:                   on,
		HwGpuMemoryLimit:                   on,
		HwEnergy:                           on,
		HwPower:                            on,
		HwTemperature:                      on,
		MlxmetalGpuRendererUtilization:     on,
		MlxmetalGpuTilerUtilization:        on,
		MlxmetalGpuSystemMemoryAllocated:   on,
		MlxmetalGpuSystemMemoryDriverInUse: off,
		MlxmetalGpuRecoveryCount:           on,
		MlxmetalGpuCoreCount:               on,
		MlxmetalGpuFrequency:               on,
		MlxmetalGpuActiveRatio:             on,
	}
}

// ResourceAttributeConfig enables or disables one resource attribute.
type ResourceAttributeConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

// ResourceAttributesConfig holds one flag per resource attribute.
type ResourceAttributesConfig struct {
	HwID     ResourceAttributeConfig `mapstructure:"hw.id"`
	HwName   ResourceAttributeConfig `mapstructure:"hw.name"`
	HwVendor ResourceAttributeConfig `mapstructure:"hw.vendor"`
	HwModel  ResourceAttributeConfig `mapstructure:"hw.model"`
	HwType   ResourceAttributeConfig `mapstructure:"hw.type"`
}

// DefaultResourceAttributesConfig turns every resource attribute on.
func DefaultResourceAttributesConfig() ResourceAttributesConfig {
	on := ResourceAttributeConfig{Enabled: true}
	return ResourceAttributesConfig{HwID: on, HwName: on, HwVendor: on, HwModel: on, HwType: on}
}

// MetricsBuilderConfig is the part of the receiver config the builder reads.
type MetricsBuilderConfig struct {
	Metrics            MetricsConfig            `mapstructure:"metrics"`
	ResourceAttributes ResourceAttributesConfig `mapstructure:"resource_attributes"`
}

// DefaultMetricsBuilderConfig returns the defaults.
func DefaultMetricsBuilderConfig() MetricsBuilderConfig {
	return MetricsBuilderConfig{Metrics: DefaultMetricsConfig(), ResourceAttributes: DefaultResourceAttributesConfig()}
}
