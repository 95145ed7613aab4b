package ioreport

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func energy(unit string, v int64) Channel {
	return Channel{Group: GroupEnergy, Name: ChannelGPUEnergy, Unit: unit, Format: FormatSimple, Value: v}
}

func gpuph(res ...int64) Channel {
	names := []string{"OFF", "IDLE", "P1", "P2", "P3"}
	c := Channel{Group: GroupGPUStats, Subgroup: SubgroupGPUStates, Name: ChannelGPUStates, Format: FormatState}
	for i, r := range res {
		c.States = append(c.States, State{Name: names[i], Residency: r})
	}
	return c
}

func TestJoulesPerUnit(t *testing.T) {
	for unit, want := range map[string]float64{"mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "nJ": 1e-9, "J": 1, " nJ ": 1e-9} {
		got, ok := JoulesPerUnit(unit)
		assert.True(t, ok, unit)
		assert.Equal(t, want, got, unit)
	}
	for _, unit := range []string{"", "mW", "kJ", "ticks"} {
		_, ok := JoulesPerUnit(unit)
		assert.False(t, ok, unit)
	}
}

func TestDiffEnergyUnits(t *testing.T) {
	for _, tc := range []struct {
		unit   string
		d      int64
		joules float64
	}{{"mJ", 4500, 4.5}, {"uJ", 4_500_000, 4.5}, {"nJ", 4_500_000_000, 4.5}} {
		prev := Sample{Time: t0, Channels: []Channel{energy(tc.unit, 1000)}}
		cur := Sample{Time: t0.Add(1500 * time.Millisecond), Channels: []Channel{energy(tc.unit, 1000+tc.d)}}
		r, err := Diff(&prev, &cur, nil)
		require.NoError(t, err)
		assert.True(t, r.HasEnergy)
		assert.InDelta(t, tc.joules, r.EnergyJoules, 1e-9, tc.unit)
		assert.InDelta(t, 3.0, r.PowerWatts, 1e-9, tc.unit)
		assert.False(t, r.HasActiveRatio, "no state channel, no ratio")
	}
}

func TestDiffResidencyAndFrequency(t *testing.T) {
	table := []float64{400e6, 800e6, 1200e6}
	prev := Sample{Time: t0, Channels: []Channel{gpuph(100, 100, 100, 100, 100)}}
	// 40 OFF, 20 IDLE, 10 at P1, 0 at P2, 30 at P3 → active .4, freq (10*400+30*1200)/40 = 1000 MHz
	cur := Sample{Time: t0.Add(time.Second), Channels: []Channel{gpuph(140, 120, 110, 100, 130)}}
	r, err := Diff(&prev, &cur, table)
	require.NoError(t, err)
	assert.True(t, r.HasActiveRatio)
	assert.InDelta(t, 0.4, r.ActiveRatio, 1e-12)
	assert.True(t, r.HasFrequencyHz)
	assert.InDelta(t, 1000e6, r.FrequencyHz, 1e-3)
	assert.False(t, r.HasEnergy, "no energy channel: omitted, not 0")

	// No table: ratio without frequency.
	r, err = Diff(&prev, &cur, nil)
	require.NoError(t, err)
	assert.True(t, r.HasActiveRatio)
	assert.False(t, r.HasFrequencyHz)

	// Table of another chip (wrong length): no frequency, an anomaly.
	r, err = Diff(&prev, &cur, table[:2])
	require.NoError(t, err)
	assert.False(t, r.HasFrequencyHz)
	assert.NotEmpty(t, r.Anomalies)

	// Fully idle interval: ratio 0, frequency unknown rather than 0.
	idle := Sample{Time: t0.Add(time.Second), Channels: []Channel{gpuph(200, 140, 100, 100, 100)}}
	r, err = Diff(&prev, &idle, table)
	require.NoError(t, err)
	assert.Equal(t, 0.0, r.ActiveRatio)
	assert.True(t, r.HasActiveRatio)
	assert.False(t, r.HasFrequencyHz)
}

func TestDiffAnomalies(t *testing.T) {
	prev := Sample{Time: t0, Channels: []Channel{energy("mJ", 5000), gpuph(10, 10, 10, 10, 10)}}
	reset := Sample{Time: t0.Add(time.Second), Channels: []Channel{energy("mJ", 10), gpuph(1, 1, 1, 1, 1)}}
	r, err := Diff(&prev, &reset, nil)
	require.NoError(t, err)
	assert.False(t, r.HasEnergy, "a counter that went backwards yields nothing")
	assert.False(t, r.HasActiveRatio)
	assert.Len(t, r.Anomalies, 2)

	unitChange := Sample{Time: t0.Add(time.Second), Channels: []Channel{energy("nJ", 6000)}}
	r, err = Diff(&prev, &unitChange, nil)
	require.NoError(t, err)
	assert.False(t, r.HasEnergy)

	badUnit := Sample{Time: t0, Channels: []Channel{energy("mW", 1)}}
	badUnit2 := Sample{Time: t0.Add(time.Second), Channels: []Channel{energy("mW", 2)}}
	r, err = Diff(&badUnit, &badUnit2, nil)
	require.NoError(t, err)
	assert.False(t, r.HasEnergy)

	states := prev
	states.Time = t0.Add(-time.Second)
	states.Channels = []Channel{gpuph(10, 10, 10)}
	r, err = Diff(&states, &prev, nil)
	require.NoError(t, err)
	assert.False(t, r.HasActiveRatio, "state list changed")

	_, err = Diff(&prev, &prev, nil)
	assert.ErrorIs(t, err, ErrNotMonotonic)

	missing := Sample{Time: t0.Add(time.Second)}
	r, err = Diff(&prev, &missing, nil)
	require.NoError(t, err)
	assert.False(t, r.HasEnergy)
	assert.False(t, r.HasActiveRatio)
}

func TestNormalizeDVFS(t *testing.T) {
	hz := NormalizeDVFS([]uint64{0, 396000000, 528000000, 1278000000})
	assert.Equal(t, []float64{396e6, 528e6, 1278e6}, hz, "M1-M3 tables are Hz; the off entry is dropped")
	khz := NormalizeDVFS([]uint64{338000, 618000, 1470000})
	assert.Equal(t, []float64{338e6, 618e6, 1470e6}, khz, "M4 tables are kHz")
	mhz := NormalizeDVFS([]uint64{338, 1470})
	assert.Equal(t, []float64{338e6, 1470e6}, mhz)
	assert.Nil(t, NormalizeDVFS(nil))
	assert.Nil(t, NormalizeDVFS([]uint64{0, 0}))
	assert.Nil(t, NormalizeDVFS([]uint64{5, 1400000000}), "a 5 Hz state is not a GPU clock")
}

func TestParseVoltageStates(t *testing.T) {
	b := make([]byte, 0, 24)
	for _, p := range [][2]uint32{{0, 0}, {396000000, 400}, {1278000000, 800}} {
		b = binary.LittleEndian.AppendUint32(b, p[0])
		b = binary.LittleEndian.AppendUint32(b, p[1])
	}
	f, err := ParseVoltageStates(b)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0, 396000000, 1278000000}, f)
	_, err = ParseVoltageStates(b[:7])
	assert.Error(t, err)
	_, err = ParseVoltageStates(nil)
	assert.Error(t, err)
	_, err = ParseVoltageStates(make([]byte, 8*65))
	assert.Error(t, err)
}

func FuzzDiff(f *testing.F) {
	f.Add(int64(0), int64(100), int64(5), int64(7), int64(3), int64(9), uint8(1), int64(1000))
	f.Fuzz(func(t *testing.T, e0, e1, a0, a1, b0, b1 int64, unit uint8, dtms int64) {
		units := []string{"mJ", "uJ", "nJ", "J", "x"}
		u := units[int(unit)%len(units)]
		mk := func(tm time.Time, e, a, b int64) Sample {
			c := Channel{Group: GroupGPUStats, Subgroup: SubgroupGPUStates, Name: ChannelGPUStates, Format: FormatState,
				States: []State{{"OFF", a}, {"P1", b}}}
			return Sample{Time: tm, Channels: []Channel{energy(u, e), c}}
		}
		p, c := mk(t0, e0, a0, b0), mk(t0.Add(time.Duration(dtms)*time.Millisecond), e1, a1, b1)
		r, err := Diff(&p, &c, []float64{1e9})
		if err != nil {
			return
		}
		if r.HasEnergy && (r.EnergyJoules < 0 || r.PowerWatts < 0) {
			t.Fatalf("negative energy %v", r)
		}
		if r.HasActiveRatio && (r.ActiveRatio < 0 || r.ActiveRatio > 1 || !Finite(r.ActiveRatio)) {
			t.Fatalf("ratio out of range %v", r)
		}
		if r.HasFrequencyHz && r.FrequencyHz != 1e9 {
			t.Fatalf("frequency %v with a one-entry table", r.FrequencyHz)
		}
	})
}
