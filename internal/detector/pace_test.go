package detector

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPace(t *testing.T) {
	var p Pace
	assert.Zero(t, p.PerDay(10, 100e9))
	assert.InDelta(t, KeyDayBudget/1e8, p.PerObservation(10, 100e9, KeyDayBudget), 1e-18, "unknown pace: the strictest")
	p.Start(50e9)
	p.Start(60e9) // the first observation stays
	assert.InDelta(t, KeyDayBudget/1e8, p.PerObservation(1, 50e9+1, KeyDayBudget), 1e-18, "under a second: the strictest")
	// 200 observations in 2000 s: one every 10 s.
	assert.InDelta(t, 8640, p.PerDay(200, 2050e9), 1e-6)
	assert.InDelta(t, KeyDayBudget/8640, p.PerObservation(200, 2050e9, KeyDayBudget), 1e-12)
	// A rare key: the floor of 1000 observations a day holds.
	assert.InDelta(t, KeyDayBudget/1000, p.PerObservation(2, 3600e9, KeyDayBudget), 1e-15)
}

func TestGaussTailZ(t *testing.T) {
	for _, z := range []float64{1, 2, 3, 4.5, 6, 8} {
		alpha := 0.5 * math.Erfc(z/math.Sqrt2)
		assert.InDelta(t, z, GaussTailZ(alpha), 1e-3, "z %v", z)
	}
	assert.Equal(t, 0.0, GaussTailZ(0.7))
	assert.True(t, math.IsInf(GaussTailZ(0), 1))
}

func TestBurstLogTail(t *testing.T) {
	// A base rate of 1 % known from 10000 requests: nearly a fixed p.
	a, b := 100.0, 9900.0
	var bb BurstBits
	for i := 0; i < 40; i++ {
		bb.Push(false)
	}
	lt, _ := bb.BurstLogTail(20, a, b, 0.25)
	assert.Zero(t, lt, "the newest outcome is no error: no run")
	bb.Push(true)
	lt, frac := bb.BurstLogTail(20, a, b, 0.25)
	assert.InDelta(t, math.Log(0.01), lt, 1e-3, "one error in a run of one")
	assert.Equal(t, 1.0, frac)
	bb.Push(false)
	bb.Push(true)
	bb.Push(true)
	// Runs ending now: 1/1, 2/2, 2/3, 3/4, 3/5, ...: the smallest union bound is 3 of 4,
	// C(4,3)·p³, against 2 of 2, p². The pseudo-counts passed include the run's earlier
	// outcomes (two errors, one success), which are taken out.
	ltA, frac := bb.BurstLogTail(20, a+2, b+1, 0.25)
	assert.InDelta(t, math.Log(4)+3*math.Log(0.01), ltA, 0.05)
	assert.Equal(t, 0.75, frac)
	// A rate condition removes runs: with minFrac 0.9 only the all-error runs remain.
	lt, frac = bb.BurstLogTail(20, a+2, b+1, 0.9)
	assert.InDelta(t, 2*math.Log(0.01), lt, 0.05)
	assert.Equal(t, 1.0, frac)
	// The same rate known from 200 requests is uncertain: the same run is less surprising.
	ltB, _ := bb.BurstLogTail(20, 2+2, 198+1, 0.25)
	assert.Greater(t, ltB, ltA+0.5)
	// A key with no error before the run: more surprising still.
	ltC, _ := bb.BurstLogTail(20, 0.5+2, 199.5+1, 0.25)
	assert.Less(t, ltC, ltB-1)
	// Bad input: no run.
	lt, _ = bb.BurstLogTail(0, a, b, 0.25)
	assert.Zero(t, lt)
	lt, _ = bb.BurstLogTail(20, 0, b, 0.25)
	assert.Zero(t, lt)
}
