package detector

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactTail sums the negative binomial pmf from n on (integer n).
func exactTail(a, b float64, n int) float64 {
	q := 1 / (b + 1)
	lp := a * math.Log(b*q) // log pmf(0)
	pmf := math.Exp(lp)
	sum := 0.0
	for k := 0; k < n; k++ {
		sum += pmf
		pmf *= q * (float64(k) + a) / float64(k+1)
	}
	return 1 - sum
}

func TestLogTailBoundsTheExactTail(t *testing.T) {
	for _, c := range []struct{ a, b float64 }{{1, 2.5}, {0.4, 1}, {30, 60}, {300, 61}, {2, 0.05}} {
		p := CountPosterior{A: float32(c.a), B: float32(c.b)}
		m := p.Mean()
		for _, k := range []float64{2, 4, 8, 16} {
			n := int(math.Ceil(m + k*p.SD() + 1))
			exact := exactTail(float64(p.A), float64(p.B), n)
			if exact < 1e-13 || exact > 1e-2 {
				continue // beyond what the complement sum resolves, or not a tail
			}
			bound := math.Exp(p.LogTail(float64(n)))
			require.GreaterOrEqual(t, bound, exact*(1-1e-6), "a=%v b=%v n=%d", c.a, c.b, n)
			assert.Less(t, bound, 3*exact, "the bound is tight in the tail: a=%v b=%v n=%d", c.a, c.b, n)
		}
	}
}

// Evidence in proportion to how little a key has been seen: the same count is far less
// surprising for a key with one interval of history than for one with an hour of it.
func TestPosteriorNeedsMoreEvidenceForSparseKeys(t *testing.T) {
	young := Posterior(2, 2, 1)  // one interval seen with 2 requests
	old := Posterior(2, 120, 60) // an hour at 2 per interval
	assert.InDelta(t, 2, old.Mean(), 0.1)
	assert.Less(t, old.LogTail(15), math.Log(1e-7), "15 against an hour at 2 per interval is a flood")
	assert.Greater(t, young.LogTail(15), math.Log(1e-7), "15 after one interval is not yet proof")
	assert.Less(t, young.LogTail(60), math.Log(1e-7), "60 is, even for a new key")
	assert.Greater(t, old.LogTail(2), math.Log(0.3), "the mean is not a tail")
	assert.Greater(t, float64(young.Gate), float64(old.Gate))
}

func TestTailScore(t *testing.T) {
	la := math.Log(1e-7)
	assert.InDelta(t, 0.5, TailScore(la, la), 1e-12)
	assert.Greater(t, TailScore(la*2, la), 0.5)
	assert.Less(t, TailScore(la/2, la), 0.5)
	assert.Equal(t, 0.0, TailScore(0, la))
}
