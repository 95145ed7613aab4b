package detector

import "math"

// Scales is the number of timescales a MultiScale runs.
const Scales = 3

// MultiScaleParams tune a MultiScale: one SignalParams per timescale.
type MultiScaleParams struct {
	p      [Scales]SignalParams
	single bool // spread 1: the timescales coincide, so only the middle one runs
}

// NewMultiScale returns the parameters of a MultiScale around base: the middle timescale is base,
// the others divide and multiply its baseline rate (Series.Alpha) by spread, and its recent-level
// and recent-surprise rates (Series.FastAlpha, ShortAlpha) by √spread, capped at 0.5. A spread of
// 1 (or less) is base alone.
func NewMultiScale(base SignalParams, spread float64) MultiScaleParams {
	var m MultiScaleParams
	if spread <= 1 {
		m.single = true
		spread = 1
	}
	for i := range m.p {
		g := math.Pow(spread, float64(i-Scales/2)/float64(Scales/2))
		q := base
		q.Series.Alpha = math.Min(base.Series.Alpha*g, 0.5)
		q.Series.FastAlpha = math.Min(base.Series.FastAlpha*math.Sqrt(g), 0.5)
		q.ShortAlpha = math.Min(base.ShortAlpha*math.Sqrt(g), 0.5)
		q.Prepare()
		m.p[i] = q
	}
	return m
}

// MultiScale scores one plain numeric series with a Signal at each of Scales timescales (slow,
// middle, fast baselines) and averages their scores. One timescale fits a series only when its
// changes happen at that pace: a slow baseline misses a drift it absorbs, a fast one flags the
// ordinary wander of a series it follows too closely. Averaging needs the timescales to agree
// before the score is high, which removes most of the alarms each raises alone, on series whose
// pace is not known in advance. It is what `mlxbacktest nab` runs; the processor runs one
// Signal per signal and key (its cost per span is bounded), the middle timescale's parameters.
// 3×Signal in size.
type MultiScale struct {
	sig [Scales]Signal
}

// Observe scores x observed at tod (seconds since midnight) and learns it. The result is the
// middle timescale's, with Score and Z the means over the timescales (the evidence an onset
// reports is then also the timescales' common one).
func (m *MultiScale) Observe(tod int64, x float64, p *MultiScaleParams) SignalResult {
	const mid = Scales / 2
	if p.single {
		return m.sig[mid].Observe(tod, x, &p.p[mid])
	}
	var out SignalResult
	sum, zsum := 0.0, 0.0
	for i := range m.sig {
		var r SignalResult
		m.sig[i].ObserveInto(tod, x, &p.p[i], &r)
		sum += r.Score
		zsum += r.Z
		if i == mid {
			out = r
		}
	}
	out.Score, out.Z = sum/Scales, zsum/Scales
	return out
}
