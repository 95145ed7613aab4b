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

// Pace estimates how often a key is observed: an EWMA of the interval between its observations
// in event time. 12 bytes; the zero value is ready to use.
type Pace struct {
	last int64   // event time of the last observation, ns
	gap  float32 // EWMA of the interval, seconds; 0 until two observations
}

// paceAlpha is the rate of the interval average: about the last 30 observations.
const paceAlpha = 1.0 / 30

// Tick records an observation at event time t (ns). An observation out of order counts as a
// zero interval, so a replayed or skewed item cannot stretch the estimate.
func (p *Pace) Tick(t int64) {
	if p.last != 0 {
		dt := float32(max(t-p.last, 0)) * 1e-9
		if p.gap == 0 {
			p.gap = dt
		} else {
			p.gap += paceAlpha * (dt - p.gap)
		}
	}
	if t > p.last {
		p.last = t
	}
}

// PerDay returns the observations a day at the current pace; 0 while unknown.
func (p *Pace) PerDay() float64 {
	if p.gap <= 0 {
		return 0
	}
	return 86400 / float64(p.gap)
}

// PerObservation returns the false-alarm probability one observation of the key may have so that
// its observations of a day spend at most budget false alarms: budget / observations a day,
// and at most budget / (perDay floor of 1000) when the pace is unknown or slower, so that a
// key seen rarely is not judged on a loose threshold.
func (p *Pace) PerObservation(budget float64) float64 {
	return budget / max(p.PerDay(), 1000)
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
