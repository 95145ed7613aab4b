package detector

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func params() SignalParams {
	p := SignalParams{
		Series: Params{Warmup: 30, Alpha: 0.003, FastAlpha: 0.2, Clip: 2, Z: 20, ShiftZ: 8, Accept: 30,
			MinScale: 0.001, MinAbs: 1e-9},
		ShortAlpha: 0.1, LongAlpha: 0.002, SurpriseZ: 7, SpikeZ: 5, MinZ: 2,
	}
	p.Series.Prepare()
	return p
}

func TestSeriesWarmupAndSpike(t *testing.T) {
	p := params().Series
	var s Series
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 500; i++ {
		r := s.Observe(10+rng.NormFloat64(), &p)
		if i < p.Warmup {
			require.Zero(t, r.Score, "warm-up observation %d scored", i)
		}
	}
	assert.InDelta(t, 10, s.Baseline(), 0.3)
	r := s.Peek(40, &p)
	assert.NotEqual(t, None, r.Kind)
	assert.Greater(t, r.Z, 20.0)
	assert.Greater(t, r.Score, 0.5)
	// One outlier moves the baseline by at most Clip scales times Alpha.
	before := s.Baseline()
	s.Observe(1e9, &p)
	assert.InDelta(t, before, s.Baseline(), 0.1)
	// Non-finite values are ignored.
	n := s.N()
	s.Observe(math.NaN(), &p)
	s.Observe(math.Inf(1), &p)
	assert.Equal(t, n, s.N())
}

func TestSeriesAcceptsLevelShift(t *testing.T) {
	p := params().Series
	var s Series
	rng := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 300; i++ {
		s.Observe(10+rng.NormFloat64(), &p)
	}
	for i := 0; i < 200; i++ {
		s.Observe(30+rng.NormFloat64(), &p)
	}
	assert.InDelta(t, 30, s.Baseline(), 1, "a persisting level becomes the baseline")
	assert.Less(t, s.Peek(30, &p).Score, 0.5)
}

func TestSignalSurprise(t *testing.T) {
	p := params()
	var s Signal
	rng := rand.New(rand.NewPCG(3, 3))
	flags := 0
	for i := 0; i < 20000; i++ {
		if r := s.Observe(int64(i)*60, rng.NormFloat64(), &p); r.Score >= 0.5 {
			flags++
		}
	}
	assert.LessOrEqual(t, flags, 2, "Gaussian noise is not anomalous")
	// A sustained shift of 4 sigma (no single observation beyond SpikeZ) is found by the
	// surprise test within a few observations.
	found := -1
	for i := 0; i < 50 && found < 0; i++ {
		if r := s.Observe(int64(20000+i)*60, 4+0.3*rng.NormFloat64(), &p); r.Score >= 0.5 {
			found = i
		}
	}
	assert.GreaterOrEqual(t, found, 0)
	assert.Less(t, found, 15)
}

func TestSignalSeasonal(t *testing.T) {
	p := params()
	p.SeasonSelect, p.SeasonAlpha = 0.4, 0.2
	p.SpikeZ = 0
	var s Signal
	rng := rand.New(rand.NewPCG(4, 4))
	day := func(sec int64) float64 { return 100 * math.Sin(2*math.Pi*float64(sec%86400)/86400) }
	var sec int64
	for d := 0; d < 10; d++ {
		for i := 0; i < 288; i++ {
			sec = int64(d)*86400 + int64(i)*300
			r := s.Observe(sec, day(sec)+rng.NormFloat64(), &p)
			if d >= 5 {
				assert.Less(t, r.Score, 0.5, "a regular daily pattern is learned (day %d row %d)", d, i)
			}
		}
	}
	// At 06:00 the usual value is +100; the usual value of 18:00 (-100) is far from the seasonal
	// baseline though well inside the plain model's range.
	at := int64(10)*86400 + 6*3600
	r := s.Observe(at, day(at+43200), &p)
	assert.InDelta(t, day(at), r.Baseline, 10)
	assert.Greater(t, math.Abs(r.Z), 10.0)
}

func TestDebounce(t *testing.T) {
	var d Debounce
	const min = int64(60e9)
	assert.True(t, d.Onset(0, 10*min, 0))
	assert.False(t, d.Ready(5*min, 10*min, 0))
	assert.False(t, d.Onset(9*min, 10*min, 0))
	assert.True(t, d.Onset(10*min, 10*min, 0))
	// Far out of order: not silenced for long.
	assert.True(t, d.Ready(-100*min, 10*min, 0))
	// Observation count.
	var c Debounce
	assert.True(t, c.Onset(0, 0, 3))
	c.Tick()
	c.Tick()
	assert.False(t, c.Ready(1, 0, 3))
	c.Tick()
	assert.True(t, c.Ready(1, 0, 3))
}

func TestSizes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Series{}), uintptr(48))
	assert.LessOrEqual(t, unsafe.Sizeof(Signal{}), uintptr(256))
}

// The hot path decides the kind by comparing squared z-scores instead of squashing them; the
// kind must agree with the score that Observe reports.
func TestSeriesKindMatchesScore(t *testing.T) {
	p := params().Series
	var s Series
	rng := rand.New(rand.NewPCG(5, 5))
	kinds := map[Kind]int{}
	for i := 0; i < 20000; i++ {
		x := rng.NormFloat64()
		if i%500 > 450 {
			x += 12 // stretches of a shifted level
		}
		if i%97 == 0 {
			x += 40 * rng.NormFloat64() // isolated spikes
		}
		r := s.Observe(x, &p)
		kinds[r.Kind]++
		if math.Abs(r.Score-0.5) < 1e-9 {
			continue
		}
		require.Equal(t, r.Score >= 0.5, r.Kind != None, "observation %d: %+v", i, r)
		if r.Kind == Shift {
			require.Equal(t, squash(r.ShiftZ, p.ShiftZ), r.Score)
		}
	}
	assert.Positive(t, kinds[Spike])
	assert.Positive(t, kinds[Shift])
}
