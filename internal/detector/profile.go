package detector

// Profile returns the parameters of a numeric detector: warmup observations per key, sensitivity
// (2 flags deviations half as surprising as 1), the time-of-day model on or off, and the
// profile.
//
// Positive selects the profile of positive quantities (durations, tokens, memory), observed as
// log(x), where one observation many scales out is unambiguous: a single-observation test runs
// beside the surprise test (SpikeZ, 6 robust deviations, a one-sided normal tail of 1e-9), the
// surprise threshold is higher because a busy key makes millions of observations a day, and a
// level that persists for 100 observations becomes the baseline. The plain profile (any real
// values, one observation per row, as in NAB) judges the recent level too, so a slow drift adds
// up.
func Profile(warmup int, sensitivity float64, seasonal, positive bool) SignalParams {
	sel := 0.0
	if seasonal {
		sel = 0.4
	}
	s := sensitivity
	if s <= 0 {
		s = 1
	}
	p := SignalParams{
		Series: Params{Warmup: warmup, Alpha: 0.003, FastAlpha: 0.2, Clip: 2, Z: 20, ShiftZ: 8,
			Accept: 30, MinScale: 0.001, MinAbs: 1e-9},
		SeasonAlpha: 0.2, SeasonSelect: sel, ShortAlpha: 0.1, LongAlpha: 0.002, SurpriseZ: PlainSurpriseZ / s, MinZ: 2, LevelSurprise: true,
	}
	if positive {
		p.SurpriseZ = PositiveSurpriseZ / s
		p.SpikeZ = PositiveSpikeZ / s
		p.LevelSurprise = false
		p.Series.Accept = 100
		p.Series.MinScale = 0
		p.Series.MinAbs = 0.01 // 1% in log space
	}
	p.Prepare()
	return p
}

// Thresholds of the profiles (see Profile).
const (
	PlainSurpriseZ    = 5.0
	PositiveSurpriseZ = 7.0
	PositiveSpikeZ    = 6.0
)
