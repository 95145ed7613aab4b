package gpustats

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otel-mlx/otel-mlx/receiver/mlxmetal/internal/plist"
)

func load(t *testing.T, name string) []Accelerator {
	t.Helper()
	b, err := os.ReadFile("../../testdata/ioreg/" + name)
	require.NoError(t, err)
	v, err := plist.Parse(b)
	require.NoError(t, err)
	acc, err := FromIoreg(&v)
	require.NoError(t, err)
	return acc
}

func TestM1Busy(t *testing.T) {
	acc := load(t, "m1_busy.plist")
	require.Len(t, acc, 1)
	a := acc[0]
	assert.Equal(t, "gpu-0x100000680", a.ID)
	assert.Equal(t, "AGXAcceleratorG13G", a.Class)
	assert.Equal(t, "Apple M1", a.Model)
	assert.Equal(t, "Apple", a.Vendor)
	assert.Equal(t, Opt[int64]{8, true}, a.Cores)
	assert.Equal(t, Opt[float64]{0.98, true}, a.DeviceUtilization)
	assert.Equal(t, Opt[float64]{0.97, true}, a.RendererUtilization)
	assert.Equal(t, Opt[float64]{0.41, true}, a.TilerUtilization)
	assert.Equal(t, Opt[int64]{6<<30 + 123456, true}, a.InUseSystemMemory)
	assert.Equal(t, Opt[int64]{7 << 30, true}, a.AllocSystemMemory)
	assert.Equal(t, Opt[int64]{16777216, true}, a.InUseDriverMemory)
	assert.Equal(t, Opt[int64]{0, true}, a.RecoveryCount, "a present zero is reported")
	assert.False(t, a.TemperatureCelsius.OK, "Apple silicon publishes no temperature here")
	assert.Empty(t, a.Anomalies)
	assert.True(t, a.HasStats())
}

func TestIdleIsZeroNotMissing(t *testing.T) {
	a := load(t, "m1_idle.plist")[0]
	assert.Equal(t, Opt[float64]{0, true}, a.DeviceUtilization)
}

func TestIntelMacTwoGPUs(t *testing.T) {
	acc := load(t, "intel_amd_two_gpus.plist")
	require.Len(t, acc, 2)
	assert.Equal(t, "Intel", acc[0].Vendor)
	assert.Equal(t, "Intel UHD Graphics 630", acc[0].Model, "data model is NUL-trimmed")
	assert.False(t, acc[0].Cores.OK)
	amd := acc[1]
	assert.Equal(t, "AMD", amd.Vendor)
	assert.Equal(t, "AMD Radeon Pro 5500M", amd.Model)
	assert.Equal(t, Opt[float64]{61, true}, amd.TemperatureCelsius)
	assert.Equal(t, Opt[float64]{18, true}, amd.PowerWatts)
	assert.Equal(t, Opt[float64]{0.31, true}, amd.DeviceUtilization)
	assert.NotEqual(t, acc[0].ID, amd.ID)
}

func TestMissingKeysAreAbsent(t *testing.T) {
	a := load(t, "m1_missing_keys.plist")[0]
	assert.False(t, a.DeviceUtilization.OK)
	assert.False(t, a.InUseSystemMemory.OK)
	assert.False(t, a.AllocSystemMemory.OK)
	assert.False(t, a.RecoveryCount.OK)
	assert.False(t, a.Cores.OK)
	assert.True(t, a.RendererUtilization.OK)
	assert.Empty(t, a.Anomalies)

	b := load(t, "m1_no_statistics.plist")[0]
	assert.False(t, b.HasStats())
	assert.Equal(t, "Apple M1", b.Model)
}

func TestOutOfRange(t *testing.T) {
	a := load(t, "m2_out_of_range.plist")[0]
	assert.Equal(t, Opt[float64]{1, true}, a.DeviceUtilization, "140 %% is clamped to 1")
	assert.Equal(t, Opt[float64]{0, true}, a.RendererUtilization, "-5 %% is clamped to 0")
	assert.Equal(t, Opt[float64]{1, true}, a.TilerUtilization, "100.0 as real is 1")
	assert.False(t, a.InUseSystemMemory.OK, "negative bytes are dropped")
	assert.False(t, a.RecoveryCount.OK, "a string count is dropped")
	assert.False(t, a.Cores.OK, "0 cores is dropped")
	assert.ElementsMatch(t, []string{KeyCoreCount, StatDeviceUtilization, StatRendererUtilization, StatInUseSystemMemory, StatRecoveryCount}, a.Anomalies)
}

func TestFromIoregShapes(t *testing.T) {
	_, err := FromIoreg(&plist.Value{Kind: plist.Array})
	assert.ErrorIs(t, err, ErrNoAccelerator)
	_, err = FromIoreg(&plist.Value{Kind: plist.String})
	assert.Error(t, err)
	_, err = FromIoreg(&plist.Value{Kind: plist.Array, Items: []plist.Value{{Kind: plist.Integer}}})
	assert.Error(t, err)
	many := plist.Value{Kind: plist.Array, Items: make([]plist.Value, MaxAccelerators+1)}
	for i := range many.Items {
		many.Items[i].Kind = plist.Dict
	}
	_, err = FromIoreg(&many)
	assert.Error(t, err)
	// A single dictionary (ioreg without -r on some versions) is one entry with an index id.
	one, err := FromIoreg(&plist.Value{Kind: plist.Dict})
	require.NoError(t, err)
	assert.Equal(t, "gpu0", one[0].ID)
}

func TestNamesAreBounded(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	e := plist.Value{Kind: plist.Dict, Keys: []string{KeyModel, KeyIOClass}, Vals: []plist.Value{
		{Kind: plist.Data, Bytes: []byte(long)}, {Kind: plist.String, Str: long}}}
	a := FromEntry(&e, 0)
	assert.LessOrEqual(t, len(a.Model), maxName)
	assert.LessOrEqual(t, len(a.Class), maxName)
	assert.True(t, utf8.ValidString(a.Model))
	assert.True(t, utf8.ValidString(a.Class))
}
