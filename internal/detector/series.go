// Package detector holds the streaming statistics of mlxanomaly: fixed-size, allocation-free
// per-key state updated one observation at a time on event time.
package detector

import "math"

// Kind says which test of a Series fired.
type Kind uint8

// Outcomes of Series.Observe.
const (
	None  Kind = iota
	Spike      // one observation far from the baseline
	Shift      // the recent level moved away from the baseline and stays there
)

// Params tune a Series. They are shared by every key of one detector.
type Params struct {
	// Warmup is how many observations a key needs before it is scored.
	Warmup int
	// Alpha is the rate of the slow baseline (location and scale). 1/Alpha observations is its
	// memory.
	Alpha float64
	// FastAlpha is the rate of the recent level that the shift test compares with the baseline.
	FastAlpha float64
	// Clip bounds, in units of scale, how far one observation can pull the baseline, so that
	// spikes do not poison it (a Huber-style update).
	Clip float64
	// Z is the robust z-score at which the score reaches 0.5; the score is z²/(z²+Z²).
	Z float64
	// ShiftZ is the z-score of the recent level at which a shift scores 0.5.
	ShiftZ float64
	// Accept is how many consecutive observations beyond ShiftZ make the new level the baseline.
	Accept int
	// MinScale is the smallest scale relative to |location|, and MinAbs the smallest absolute
	// one, so that a constant series does not turn every rounding difference into an alarm.
	MinScale float64
	MinAbs   float64

	// shiftNorm is sqrt(FastAlpha/(2-FastAlpha)), the spread of an EWMA of independent
	// observations in units of theirs; invNorm is its inverse, and z2 and shiftZ2 are the squared
	// halves of the two squashes. Prepare computes them.
	shiftNorm, invNorm float64
	z2, shiftZ2        float64
}

// Prepare computes the derived constants; call it after changing the fields.
func (p *Params) Prepare() {
	p.shiftNorm = math.Sqrt(p.FastAlpha / (2 - p.FastAlpha))
	p.invNorm = 1 / p.shiftNorm
	p.z2, p.shiftZ2 = half2(p.Z), half2(p.ShiftZ)
}

// half2 is the squared half-score point of squash, which takes 1 for a non-positive one.
func half2(h float64) float64 {
	if h <= 0 {
		return 1
	}
	return h * h
}

func (p *Params) norm() float64 {
	if p.invNorm == 0 {
		p.Prepare()
	}
	return p.shiftNorm
}

// Series is the baseline of one numeric signal of one key. Its zero value is ready to use.
// It is 48 bytes.
type Series struct {
	loc, dev float64 // robust location and mean absolute deviation
	fast     float64 // recent level
	fastDev  float64 // recent mean absolute deviation from loc
	n        uint32  // observations, saturating
	out      uint32  // consecutive observations beyond the shift limit
}

// Result describes one scored observation.
type Result struct {
	Score    float64 // in [0,1], 0 during warm-up
	Z        float64 // signed robust z-score of the observation
	ShiftZ   float64 // signed z-score of the recent level
	Baseline float64 // the baseline the observation was compared with
	Kind     Kind    // None when no test scored above 0.5
}

// N returns the number of observations seen (saturating).
func (s *Series) N() int { return int(s.n) }

// Baseline returns the current location.
func (s *Series) Baseline() float64 { return s.loc }

func (p *Params) scale(s *Series) float64 {
	sc := 1.2533 * s.dev // mean absolute deviation → standard deviation for normal data
	if m := p.MinScale * math.Abs(s.loc); sc < m {
		sc = m
	}
	if sc < p.MinAbs {
		sc = p.MinAbs
	}
	return sc
}

func squash(z, half float64) float64 {
	if half <= 0 {
		half = 1
	}
	z2 := z * z
	if math.IsInf(z2, 0) {
		return 1
	}
	return z2 / (z2 + half*half)
}

// Observe scores x against the baseline and then learns it. Non-finite values are ignored.
func (s *Series) Observe(x float64, p *Params) Result {
	var r Result
	warm := s.observe(x, p, &r)
	if warm {
		r.Score = squash(r.Z, p.Z)
		if ss := squash(r.ShiftZ, p.ShiftZ); ss > r.Score && (r.ShiftZ > 0) == (r.Z > 0) {
			r.Score = ss
		}
	}
	return r
}

// ObserveInto is Observe without the score: it writes Z, ShiftZ, Baseline and Kind into r and
// reports whether the observation was scored (past warm-up). For callers that judge the z-score
// themselves (the hot path of the processor).
func (s *Series) ObserveInto(x float64, p *Params, r *Result) bool {
	*r = Result{}
	return s.observe(x, p, r)
}

// observe is Observe writing into r, sharing the scale between scoring and learning (the hot
// path of the processor). It sets Z, ShiftZ, Baseline and Kind but not Score: the callers in
// this package need the kind only, and the kind follows from comparing squared z-scores, which
// saves the divisions of the two squashes. It reports whether the observation was scored.
func (s *Series) observe(x float64, p *Params, r *Result) bool {
	r.Baseline = s.loc
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return false
	}
	if s.n == 0 {
		s.loc, s.fast, s.dev, s.fastDev = x, x, 0, 0
		s.n = 1
		return false
	}
	if p.invNorm == 0 {
		p.Prepare()
	}
	sc := p.scale(s)
	inv := 1 / sc
	fa := p.FastAlpha
	fast := s.fast + fa*(x-s.fast)
	d := x - s.loc
	warm := int(s.n) >= p.Warmup
	shift := false
	if warm {
		z := d * inv
		zs := (fast - s.loc) * (inv * p.invNorm)
		r.Z, r.ShiftZ = z, zs
		// squash(z, Z) >= 0.5 exactly when z² >= Z²; the shift squash beats the spike one when
		// zs²·Z² > z²·ShiftZ² (the squash is monotone in |z|/half).
		z2, zs2 := z*z, zs*zs
		if z2 >= p.z2 {
			r.Kind = Spike
		}
		if zs2 >= p.shiftZ2 && zs2*p.z2 > z2*p.shiftZ2 && (zs > 0) == (z > 0) {
			r.Kind = Shift
			shift = true
		}
	}
	// Learn.
	if s.n < math.MaxUint32 {
		s.n++
	}
	a := p.Alpha
	if int(s.n) <= p.Warmup {
		if w := 1 / float64(s.n); w > a {
			a = w // a running mean while warming up
		}
	}
	ad := math.Abs(d)
	s.fast = fast
	s.fastDev += fa * (ad - s.fastDev)
	if int(s.n) > p.Warmup {
		// A Huber step: an outlier moves the baseline by at most Clip scales.
		if lim := p.Clip * sc; ad > lim {
			d = math.Copysign(lim, d)
			ad = lim
		}
	}
	s.loc += a * d
	s.dev += a * (ad - s.dev)
	// Level shifts are accepted once they persist: the baseline jumps to the recent level.
	if shift || math.Abs(s.fast-s.loc) > p.ShiftZ*sc*p.shiftNorm {
		s.out++
		if int(s.out) >= p.Accept && p.Accept > 0 {
			s.loc = s.fast
			if s.fastDev > s.dev {
				s.dev = s.fastDev
			}
			s.out = 0
		}
	} else {
		s.out = 0
	}
	return warm
}

// Peek scores x without learning it.
func (s *Series) Peek(x float64, p *Params) Result {
	r := Result{Baseline: s.loc}
	if math.IsNaN(x) || math.IsInf(x, 0) || int(s.n) < p.Warmup || s.n == 0 {
		return r
	}
	sc := p.scale(s)
	z := (x - s.loc) / sc
	r.Z = z
	r.Score = squash(z, p.Z)
	if r.Score >= 0.5 {
		r.Kind = Spike
	}
	// The recent level including x, normalized by the spread an EWMA of independent
	// observations has, so that ShiftZ means the same whatever FastAlpha is.
	fa := p.FastAlpha
	fast := s.fast + fa*(x-s.fast)
	zs := (fast - s.loc) / (sc * p.norm())
	r.ShiftZ = zs
	if ss := squash(zs, p.ShiftZ); ss > r.Score && (zs > 0) == (z > 0) {
		r.Score = ss
		if ss >= 0.5 {
			r.Kind = Shift
		}
	}
	return r
}
