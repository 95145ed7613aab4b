package detector

import "math"

// Counts per interval (requests, tokens) of one key are judged with a Gamma-Poisson model: the
// key's rate per interval has a Gamma(a, b) posterior (a: pseudo-counts, b: pseudo-intervals)
// built from a prior centred on the population's rate and the key's own decayed history, and
// the count of the next interval then follows the posterior predictive, a negative binomial
// with shape a and success probability b/(b+1). A key seen for a few intervals has a wide
// predictive and needs a large count to be surprising; a key seen for hours has a narrow one.

// CountPosterior is the Gamma posterior of a rate per interval and what the hot path needs to
// judge a count against its predictive: a gate below which a count cannot reach the tail
// probability of interest, so that most counts are dismissed by one comparison.
type CountPosterior struct {
	A, B float32 // Gamma shape (pseudo-counts) and rate (pseudo-intervals)
	Gate float32 // counts at or below Gate are not in the far tail (mean + 3 sd + 1)
}

// PriorShape is the shape of the population prior: a Gamma with shape 1 (an exponential, the
// maximum-entropy law of a positive rate with a known mean) weighs as one interval's worth of
// counts at the population's rate, so a key's own history dominates after a few intervals.
const PriorShape = 1.0

// Posterior combines the population prior mean rate mu (counts per interval) with a key's
// decayed count sum s over a decayed exposure e (intervals).
func Posterior(mu, s, e float64) CountPosterior {
	if !(mu > 1e-6) {
		mu = 1e-6
	}
	a := PriorShape + math.Max(s, 0)
	b := PriorShape/mu + math.Max(e, 0)
	m := a / b
	sd := math.Sqrt(m * (1 + 1/b))
	return CountPosterior{A: float32(a), B: float32(b), Gate: float32(m + 3*sd + 1)}
}

// Mean is the predictive mean count of one interval.
func (c CountPosterior) Mean() float64 { return float64(c.A) / float64(c.B) }

// SD is the predictive standard deviation of one interval's count.
func (c CountPosterior) SD() float64 {
	b := float64(c.B)
	return math.Sqrt(c.Mean() * (1 + 1/b))
}

// LogTail returns the natural logarithm of an upper bound of P(N >= n) under the predictive
// negative binomial (shape A, success probability B/(B+1)), tight in the far tail where it
// matters: P(N >= n) <= pmf(n) / (1 - rho), where rho bounds the ratio pmf(k+1)/pmf(k) =
// q(k+A)/(k+1) for every k >= n (q = 1/(B+1); the ratio falls towards q when A > 1 and rises
// towards it when A < 1). It returns 0 (probability 1) when n is not beyond the mode. Counts
// need not be integers (token counts in request units).
func (c CountPosterior) LogTail(n float64) float64 {
	a, b := float64(c.A), float64(c.B)
	if !(n > 0) || !(a > 0) || !(b > 0) {
		return 0
	}
	q := 1 / (b + 1)
	rho := q
	if r := (n + a) / (n + 1); r > 1 {
		rho *= r
	}
	if rho >= 1 {
		return 0
	}
	la, _ := math.Lgamma(n + a)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(n + 1)
	lp := la - lb - lc + a*math.Log(b*q) + n*math.Log(q) - math.Log1p(-rho)
	if lp > 0 {
		return 0
	}
	return lp
}

// TailScore maps a log tail probability to a score in [0,1] that is 0.5 exactly at the log
// tail probability logAlpha (< 0): score = L/(L+Lα) with L = -logTail, Lα = -logAlpha.
func TailScore(logTail, logAlpha float64) float64 {
	l := -logTail
	if !(l > 0) {
		return 0
	}
	return l / (l - logAlpha)
}
