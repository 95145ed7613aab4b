package mlxmetal

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	def, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, NewFactory().CreateDefaultConfig(), def)
	assert.Equal(t, SourceIOKit, def.Source)
	assert.Equal(t, 10*time.Second, def.CollectionInterval)
	assert.False(t, def.IOReport.Enabled, "IOReport is opt-in")
	assert.True(t, def.Metrics.HwGpuUtilization.Enabled)
	assert.True(t, def.Metrics.MlxmetalGpuCoreCount.Enabled)
	assert.False(t, def.Metrics.MlxmetalGpuSystemMemoryDriverInUse.Enabled)

	r, err := loadConfig(t, "replay")
	require.NoError(t, err)
	assert.Equal(t, SourceFile, r.Source)
	assert.Equal(t, 5*time.Second, r.CollectionInterval)
	assert.Equal(t, "testdata/ioreg/m1_busy.plist", r.File.Path)
	assert.Equal(t, int64(17179869184), r.File.MemoryLimitBytes)
	assert.True(t, r.IOReport.Enabled)
	assert.False(t, r.Metrics.MlxmetalGpuCoreCount.Enabled)
	assert.False(t, r.Metrics.HwTemperature.Enabled)
	assert.True(t, r.Metrics.HwGpuUtilization.Enabled, "flags not set keep their default")
	assert.False(t, r.ResourceAttributes.HwModel.Enabled)
	assert.True(t, r.ResourceAttributes.HwID.Enabled)

	io, err := loadConfig(t, "ioreg")
	require.NoError(t, err)
	assert.Equal(t, "/usr/sbin/ioreg", io.Ioreg.Path)
	assert.Equal(t, time.Second, io.Ioreg.Timeout)
	assert.Equal(t, MemoryLimitPhysical, io.MemoryLimit)
}

func TestConfigValidateErrors(t *testing.T) {
	for name, wants := range map[string][]string{
		"bad_source": {`source "metal" is not known`},
		"bad_file":   {"needs file.path", "needs file.ioreport_path", "file.memory_limit_bytes is -1"},
		"bad_ioreg":  {"needs ioreg.path", "longer than collection_interval", "ioreg.max_output_bytes is 0", `memory_limit "lots"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(createDefaultConfig()))
}
