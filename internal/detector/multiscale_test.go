package detector

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMultiScale(t *testing.T) {
	base := Profile(100, 1, false, false)

	// Spread 1 is the processor's single Signal, result for result.
	one := NewMultiScale(base, 1)
	var m MultiScale
	var s Signal
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 3000; i++ {
		x := 10 + rng.NormFloat64()
		if i > 2000 {
			x += 8
		}
		require.Equal(t, s.Observe(int64(i*300), x, &base), m.Observe(int64(i*300), x, &one))
	}

	// Spread 4: the timescales differ, the score and z-score are their means, and the result is
	// the middle one's otherwise.
	four := NewMultiScale(base, 4)
	assert.InDelta(t, base.Series.Alpha/4, four.p[0].Series.Alpha, 1e-12)
	assert.InDelta(t, base.Series.Alpha*4, four.p[2].Series.Alpha, 1e-12)
	assert.InDelta(t, base.ShortAlpha*2, four.p[2].ShortAlpha, 1e-12)
	var ms MultiScale
	var sig [Scales]Signal
	first := -1
	for i := 0; i < 3000; i++ {
		x := 10 + rng.NormFloat64()
		if i >= 2000 {
			x += 8 // a level shift of 8 standard deviations
		}
		r := ms.Observe(int64(i*300), x, &four)
		sum, zsum := 0.0, 0.0
		var mid SignalResult
		for k := range sig {
			rk := sig[k].Observe(int64(i*300), x, &four.p[k])
			sum += rk.Score
			zsum += rk.Z
			if k == Scales/2 {
				mid = rk
			}
		}
		require.InDelta(t, sum/Scales, r.Score, 1e-12)
		require.InDelta(t, zsum/Scales, r.Z, 1e-12)
		require.Equal(t, mid.Baseline, r.Baseline)
		if r.Score >= 0.5 && first < 0 && i >= 1900 {
			first = i
		}
	}
	assert.GreaterOrEqual(t, first, 2000)
	assert.Less(t, first, 2003, "the shift is flagged at once")

	// On noise with no anomaly, fewer observations score high than with the middle timescale
	// alone: the timescales must agree.
	highMS, highOne := 0, 0
	for seed := uint64(0); seed < 5; seed++ {
		var ms MultiScale
		var s Signal
		rng := rand.New(rand.NewPCG(seed, 11))
		x := 0.0
		for i := 0; i < 20000; i++ {
			x = 0.9*x + rng.NormFloat64() // autocorrelated, as measurements are
			if r := ms.Observe(int64(i*300), x, &four); r.Warm && r.Score >= 0.5 {
				highMS++
			}
			if r := s.Observe(int64(i*300), x, &base); r.Warm && r.Score >= 0.5 {
				highOne++
			}
		}
	}
	t.Logf("observations scoring >= 0.5 on 100000 of noise: %d (3 timescales), %d (one)", highMS, highOne)
	assert.Less(t, highMS, highOne)
}
