package backtest

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/otel-mlx/otel-mlx/internal/detector"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// SeriesScorer scores one plain numeric series (one key) with the processor's numeric detector in
// its plain profile, run at several timescales (detector.MultiScale): the latency detector's
// sensitivity and seasonal setting, the warm-up and the cool-down of the configuration. It is
// what `mlxbacktest nab` runs on each NAB series. Not safe for concurrent use.
type SeriesScorer struct {
	p           detector.MultiScaleParams
	sig         detector.MultiScale
	deb         detector.Debounce
	thr         float64
	cooldown    int64
	cooldownObs int
}

// NABSpread is the ratio between the timescales of the NAB scorer (detector.NewMultiScale), chosen
// with the other NAB parameters by leave-one-category-out cross-validation (`mlxbacktest nabcv`).
const NABSpread = 4

// NewSeriesScorer returns a scorer for one series, with timescales spread by spread (1: one
// timescale, the processor's).
func NewSeriesScorer(cfg *mlxanomaly.Config, spread float64) (*SeriesScorer, error) {
	if cfg == nil {
		return nil, errors.New("backtest: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !(spread >= 1 && spread <= 100) {
		return nil, fmt.Errorf("backtest: timescale spread %g is out of range: use 1 (one timescale) to 100, e.g. %d", spread, NABSpread)
	}
	return &SeriesScorer{
		p:           detector.NewMultiScale(detector.Profile(cfg.Warmup, cfg.Latency.Sensitivity, cfg.Latency.Seasonal, false), spread),
		thr:         cfg.FlagThreshold,
		cooldown:    int64(cfg.Cooldown),
		cooldownObs: cfg.CooldownObservations,
	}, nil
}

// Score scores value v observed at t, causally. An observation scoring above the flag
// threshold within the cool-down of the previous onset reports at most half the threshold: it
// belongs to an incident already reported. An onset reports its evidence instead of the
// detector's score: the flag threshold plus the rest of the range scaled by how far out the
// observation itself is (OnsetScore). The detector's score crosses the threshold at the onset,
// so it is close to the threshold for every onset and cannot rank them; a scorer that sweeps
// one threshold over many series (NAB's) needs onsets ranked by their own evidence.
func (s *SeriesScorer) Score(t time.Time, v float64) (score float64, flagged bool) {
	ns := t.UnixNano()
	r := s.sig.Observe((ns/1e9)%86400, v, &s.p)
	s.deb.Tick()
	score = min(max(r.Score, 0), 1)
	if score >= s.thr {
		if s.deb.Onset(ns, s.cooldown, s.cooldownObs) {
			return OnsetScore(s.thr, r.Z), true
		}
		return s.thr / 2, false
	}
	return score, false
}

// OnsetZ is the robust z-score at which an onset's score is halfway between the flag threshold
// and 1. Any positive value ranks onsets the same way; it only places them in the range.
const OnsetZ = 10

// OnsetScore is the score an onset reports: thr + (1-thr)·z²/(z²+OnsetZ²), increasing in |z|
// and at least thr.
func OnsetScore(thr, z float64) float64 {
	z2 := z * z
	if math.IsInf(z2, 0) || math.IsNaN(z2) {
		return 1
	}
	return thr + (1-thr)*z2/(z2+OnsetZ*OnsetZ)
}

// DefaultConfig returns the processor's default configuration, as its factory makes it.
func DefaultConfig() *mlxanomaly.Config {
	return mlxanomaly.NewFactory().CreateDefaultConfig().(*mlxanomaly.Config)
}

// NABConfig is the configuration `mlxbacktest nab` uses without --config: the defaults, with a
// longer warm-up, a cool-down counted in observations because NAB series have no common
// sampling rate, the time-of-day model on (many NAB series are daily) and sensitivity 1.2.
// Sensitivity, cool-down and the time-of-day model (with NABSpread) are what leave-one-category-out
// cross-validation chooses (`mlxbacktest nabcv`, in sample and in every fold).
func NABConfig() *mlxanomaly.Config {
	c := DefaultConfig()
	c.Warmup = 100
	c.Cooldown = 0
	c.CooldownObservations = 50
	c.Latency.Seasonal = true
	c.Latency.Sensitivity = 1.2
	return c
}
