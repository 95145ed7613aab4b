package detector

import (
	"math"
)

// Buckets is the number of time-of-day buckets of the seasonal profile (one per hour).
const Buckets = 24

// SignalParams tune a Signal.
type SignalParams struct {
	Series Params
	// SeasonAlpha is the learning rate of each time-of-day bucket.
	SeasonAlpha float64
	// SeasonSelect: the seasonal model is used when its residual spread is below SeasonSelect
	// times the spread of the plain model; 0 turns the seasonal model off.
	SeasonSelect float64
	// ShortAlpha and LongAlpha are the rates of the recent and the long-run averages of the
	// surprise (|z| of each observation).
	ShortAlpha, LongAlpha float64
	// SurpriseZ is how many standard deviations above its long-run mean the recent surprise must
	// be for the score to reach 0.5.
	SurpriseZ float64
	// SpikeZ: one observation with |z| of SpikeZ scores 0.5 on its own, whatever the recent
	// surprise; 0 leaves single observations to the surprise test.
	SpikeZ float64
	// MinZ: the surprise score of an observation whose own |z| is below MinZ is scaled down by
	// (|z|/MinZ)², so a flag lands on an unusual observation and not on an ordinary one that
	// follows an incident while the recent surprise is still high. 0 turns this off.
	MinZ float64
	// LevelSurprise: the surprise of an observation is the larger of its own z and the z of the
	// recent level (when they agree in sign), so a slow drift adds up even when no observation
	// is far out. Good for one-observation-per-interval series; for request telemetry it makes
	// the aftermath of a spike look like a shift, so the processor's profile turns it off.
	LevelSurprise bool

	// Derived constants, set by Prepare: the spread factor of the short surprise average, the
	// squared halves of the surprise and spike squashes, and 1/MinZ².
	shortVar, surZ2, spikeZ2, invMinZ2 float64
	prepared                           bool
}

// Prepare computes the derived constants (of Series too); call it after changing the fields.
func (p *SignalParams) Prepare() {
	p.Series.Prepare()
	as := p.ShortAlpha
	p.shortVar = as / (2 - as)
	p.surZ2, p.spikeZ2 = half2(p.SurpriseZ), half2(p.SpikeZ)
	p.invMinZ2 = 0
	if p.MinZ > 0 {
		p.invMinZ2 = 1 / (p.MinZ * p.MinZ)
	}
	p.prepared = true
}

// Signal scores a numeric signal of one key: a plain robust baseline and a time-of-day
// (seasonal) one run side by side and the better fitting one is used; its surprise (|z|) is then
// judged against the key's own history of surprise, so a noisy key needs a
// bigger deviation than a quiet one for the same score. This second stage is what makes one
// threshold work for signals of very different shapes.
type Signal struct {
	base, resid Series
	season      [Buckets]float32
	seasonSet   uint32   // bit b: bucket b has a value
	sur         surprise // of the model in use
}

// surprise holds the recent and long-run statistics of one model's |z|.
type surprise struct {
	short, mu, va float32
	n             uint32 // observations after warm-up, saturating
}

// SignalResult describes one scored observation.
type SignalResult struct {
	Score    float64 // in [0,1]
	Z        float64 // signed robust z-score of the observation against its baseline
	Baseline float64 // expected value (seasonal when that model is in use)
	Spike    bool    // the observation alone is far out (else the recent level is)
	Warm     bool    // past warm-up
}

// maxSurprise caps one observation's contribution, so one absurd value cannot dominate the
// long-run statistics.
const maxSurprise = 20

// Observe scores x observed at tod (time of day, in seconds since midnight UTC of event time)
// and learns it. Non-finite values are ignored.
func (s *Signal) Observe(tod int64, x float64, p *SignalParams) SignalResult {
	var out SignalResult
	s.ObserveInto(tod, x, p, &out)
	return out
}

// ObserveInto is Observe writing into out, which it overwrites (the processor's hot path).
func (s *Signal) ObserveInto(tod int64, x float64, p *SignalParams, out *SignalResult) {
	*out = SignalResult{Baseline: s.base.loc}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	if !p.prepared {
		p.Prepare()
	}
	var r Result
	s.base.observe(x, &p.Series, &r)
	out.Z, out.Baseline, out.Spike = p.surpriseZ(&r), s.base.loc, r.Kind == Spike
	if p.SeasonSelect > 0 {
		b := int(((tod%86400)+86400)%86400) * Buckets / 86400
		if s.seasonSet&(1<<b) == 0 {
			s.season[b] = float32(x)
			s.seasonSet |= 1 << b
		}
		exp := float64(s.season[b])
		var rr Result
		s.resid.observe(x-exp, &p.Series, &rr)
		s.season[b] += float32(p.SeasonAlpha * (x - exp))
		if s.resid.n > uint32(3*p.Series.Warmup) && s.resid.dev < p.SeasonSelect*s.base.dev {
			out.Z, out.Baseline, out.Spike = p.surpriseZ(&rr), exp+s.resid.loc, rr.Kind == Spike
		}
	}
	if s.base.N() <= p.Series.Warmup {
		return
	}
	out.Warm = true
	score := s.sur.observe(out.Z, p)
	z2 := out.Z * out.Z
	if p.MinZ > 0 && math.Abs(out.Z) < p.MinZ {
		score *= z2 * p.invMinZ2
	}
	// The single-observation test: squash(z, SpikeZ) = z²/(z²+SpikeZ²) beats score exactly
	// when z²·(1-score) > score·SpikeZ², so its division is only done when it wins.
	if p.SpikeZ > 0 && z2*(1-score) > score*p.spikeZ2 {
		score, out.Spike = squash(out.Z, p.SpikeZ), true
	}
	out.Score = score
}

// SpikeScore is the single-observation score of a robust z-score under p, z²/(z²+SpikeZ²), for a
// Series run beside a Signal with the same parameters; 0 when SpikeZ is 0.
func (p *SignalParams) SpikeScore(z float64) float64 {
	if p.SpikeZ <= 0 {
		return 0
	}
	return squash(z, p.SpikeZ)
}

func (p *SignalParams) surpriseZ(r *Result) float64 {
	// squash(ShiftZ, Series.ShiftZ) > squash(Z, Series.Z), compared without the divisions.
	if p.LevelSurprise && (r.ShiftZ > 0) == (r.Z > 0) &&
		r.ShiftZ*r.ShiftZ*p.Series.z2 > r.Z*r.Z*p.Series.shiftZ2 {
		return r.ShiftZ
	}
	return r.Z
}

// observe scores the surprise |z| against this model's history of surprise and learns it.
func (u *surprise) observe(z float64, p *SignalParams) float64 {
	z = math.Abs(z)
	if z > maxSurprise {
		z = maxSurprise
	}
	short := float64(u.short) + p.ShortAlpha*(z-float64(u.short))
	score := 0.0
	// The surprise statistics need their own warm-up: judged against a handful of values, any
	// surprise would look large.
	if u.n > 0 {
		// squash((short-mu)/sd, SurpriseZ) with one division: d²/(d²+SurpriseZ²·sd²).
		if d := short - float64(u.mu); d > 0 {
			sd := math.Sqrt(float64(u.va)*p.shortVar) + 0.05
			d2 := d * d
			score = d2 / (d2 + p.surZ2*sd*sd)
		}
	}
	u.short = float32(short)
	if u.n < math.MaxUint32 {
		u.n++
	}
	// The long-run mean and variance of surprise: a running mean at first, then an EWMA.
	a := p.LongAlpha
	if float64(u.n)*a < 1 {
		a = 1 / float64(u.n)
	}
	d := z - float64(u.mu)
	u.mu += float32(a * d)
	u.va = float32((1 - a) * (float64(u.va) + a*d*d))
	return score
}
