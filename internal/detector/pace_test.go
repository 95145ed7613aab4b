package detector

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPace(t *testing.T) {
	var p Pace
	assert.Zero(t, p.PerDay())
	assert.InDelta(t, KeyDayBudget/1000, p.PerObservation(KeyDayBudget), 1e-15, "unknown pace: the floor")
	for i := 0; i < 200; i++ {
		p.Tick(int64(i) * 10e9) // every 10 s
	}
	assert.InDelta(t, 8640, p.PerDay(), 1)
	assert.InDelta(t, KeyDayBudget/8640, p.PerObservation(KeyDayBudget), 1e-12)
	// Out-of-order observations count as zero intervals and do not move the clock back.
	last := p.last
	p.Tick(0)
	assert.Equal(t, last, p.last)
	assert.Greater(t, p.PerDay(), 8640.0)
	// A rare key: the floor of 1000 observations a day holds.
	var r Pace
	r.Tick(0)
	r.Tick(3600e9)
	assert.InDelta(t, KeyDayBudget/1000, r.PerObservation(KeyDayBudget), 1e-15)
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
	var b BurstBits
	for i := 0; i < 40; i++ {
		b.Push(false)
	}
	lt, _ := b.BurstLogTail(20, 0.01, 0, 0.0025, 0.25)
	assert.Zero(t, lt, "the newest outcome is no error: no run")
	b.Push(true)
	lt, frac := b.BurstLogTail(20, 0.01, 0, 0.0025, 0.25)
	assert.InDelta(t, math.Log(0.01), lt, 1e-9, "one error in a run of one")
	assert.Equal(t, 1.0, frac)
	b.Push(false)
	b.Push(true)
	b.Push(true)
	// Runs ending now: 1/1, 2/2, 2/3, 3/4, 3/5, ...: the smallest union bound is 3 of 4,
	// C(4,3)·p³, against 2 of 2, p².
	lt, frac = b.BurstLogTail(20, 0.01, 0, 0.0025, 0.25)
	assert.InDelta(t, math.Log(4)+3*math.Log(0.01), lt, 1e-9)
	assert.Equal(t, 0.75, frac)
	// A rate condition removes runs: with minFrac 0.9 only the all-error runs remain.
	lt, frac = b.BurstLogTail(20, 0.01, 0, 0.0025, 0.9)
	assert.InDelta(t, 2*math.Log(0.01), lt, 1e-9)
	assert.Equal(t, 1.0, frac)
	// The base rate has learnt the run's earlier errors: they are taken out, down to the floor.
	lt, _ = b.BurstLogTail(20, 0.01, 0.005, 0.0025, 0.9)
	assert.InDelta(t, 2*math.Log(0.005), lt, 1e-9)
	lt, _ = b.BurstLogTail(20, 0.004, 0.005, 0.0025, 0.9)
	assert.InDelta(t, 2*math.Log(0.0025), lt, 1e-9)
	// Bad input: no run.
	lt, _ = b.BurstLogTail(0, 0.01, 0, 0.0025, 0.25)
	assert.Zero(t, lt)
	lt, _ = b.BurstLogTail(20, 0.01, 0, 0, 0.25)
	assert.Zero(t, lt)
}
