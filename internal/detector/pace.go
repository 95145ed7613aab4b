package detector

import (
	"math"
	"math/bits"
)

// KeyDayBudget is the false-alarm budget of one test of one key: expected false onsets per key
// and day under the test's null model. A threshold set per observation from it (PerObservation)
// is stricter on a busy key, which makes more tests a day, than on a sparse one, so that what
// reaches a person is the same per key and day whatever the traffic; fixed per-observation
// thresholds either page on busy keys or wait minutes for evidence on sparse ones.
const KeyDayBudget = 0.01

// Pace tells how often a key is observed: its observations (counted by the caller) since its
// first one, in event time. It costs the hot path one comparison per observation (Start); the
// rate is computed only when a test needs its threshold. 8 bytes; the zero value is ready.
type Pace struct {
	first int64 // event time of the first observation, ns; 0 until Start
}

// Start records t as the first observation's time if none is recorded yet.
func (p *Pace) Start(t int64) {
	if p.first == 0 {
		p.first = t
	}
}

// PerDay returns the observations a day of a key that made n observations up to event time t.
// It is 0 while less than a second has passed, or before Start.
func (p *Pace) PerDay(n float64, t int64) float64 {
	if p.first == 0 || t-p.first < 1e9 {
		return 0
	}
	return n * 86400e9 / float64(t-p.first)
}

// PerObservation returns the false-alarm probability one observation of the key may have so that
// its observations of a day spend at most budget false alarms: budget / observations a day,
// counted as at least 1000 a day so that a key seen rarely is not judged on a loose threshold,
// and as 10⁸ a day (the strictest) while less than a second has passed.
func (p *Pace) PerObservation(n float64, t int64, budget float64) float64 {
	d := p.PerDay(n, t)
	if d == 0 {
		d = 1e8
	}
	return budget / max(d, 1000)
}

// GaussTailZ returns the z at which the upper tail of the standard normal is alpha, for
// 0 < alpha < 0.5 (Abramowitz and Stegun 26.2.23, absolute error below 4.5e-4).
func GaussTailZ(alpha float64) float64 {
	if !(alpha > 0) {
		return math.Inf(1)
	}
	if alpha >= 0.5 {
		return 0
	}
	t := math.Sqrt(-2 * math.Log(alpha))
	return t - (2.515517+0.802853*t+0.010328*t*t)/(1+t*(1.432788+t*(0.189269+0.001308*t)))
}

// BurstBits holds the outcomes (error or not) of a key's last 32 requests, newest in bit 0.
type BurstBits uint32

// Push records one outcome.
func (b *BurstBits) Push(bad bool) {
	*b <<= 1
	if bad {
		*b |= 1
	}
}

// logChoose[j][k] = log(j choose k) for j, k <= 32.
var logChoose = func() (t [33][33]float64) {
	for j := 0; j <= 32; j++ {
		for k := 0; k <= j; k++ {
			a, _ := math.Lgamma(float64(j + 1))
			b, _ := math.Lgamma(float64(k + 1))
			c, _ := math.Lgamma(float64(j - k + 1))
			t[j][k] = a - b - c
		}
	}
	return t
}()

// BurstLogTail looks at the runs of the last n outcomes (n <= 32) that end with the newest one
// and returns the smallest log tail probability of the count of bad outcomes in such a run, among
// the runs whose bad fraction is at least minFrac, and that run's bad fraction. The base rate is
// uncertain: a Beta(a, b) law, a and b the key's pseudo-counts of bad and good outcomes, which
// have learnt the run's earlier outcomes already; those are taken out (down to 0.5 each), so a
// run is judged against the rate before it. The tail is the union bound C(j,k)·E[p^k] of
// P(BetaBinomial(j; a, b) >= k), tight in the far tail, where it decides. A short memory gives
// a wide law and needs more evidence. It returns 0 (probability 1) and 0 when no run
// qualifies.
func (b BurstBits) BurstLogTail(n int, a, bGood, minFrac float64) (logTail, frac float64) {
	n = min(n, 32)
	if n <= 0 || b&1 == 0 || !(a > 0 && bGood > 0) {
		return 0, 0
	}
	lastK, lastJK, logPk := -1, -1, 0.0
	for j := 1; j <= n; j++ {
		mask := uint32(1<<uint(j)) - 1
		if j == 32 {
			mask = ^uint32(0)
		}
		k := bits.OnesCount32(uint32(b) & mask)
		f := float64(k) / float64(j)
		if f < minFrac {
			continue
		}
		if k != lastK || j-k != lastJK {
			// log E[p^k] = log Γ(a+k) - log Γ(a) - log Γ(a+b+k) + log Γ(a+b)
			ak := max(a-float64(k-1), 0.5)
			bk := max(bGood-float64(j-k), 0.5)
			g1, _ := math.Lgamma(ak + float64(k))
			g2, _ := math.Lgamma(ak)
			g3, _ := math.Lgamma(ak + bk + float64(k))
			g4, _ := math.Lgamma(ak + bk)
			lastK, lastJK, logPk = k, j-k, g1-g2-g3+g4
		}
		if lt := logChoose[j][k] + logPk; lt < logTail {
			logTail, frac = lt, f
		}
	}
	return logTail, frac
}
