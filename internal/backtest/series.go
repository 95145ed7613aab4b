package backtest

import (
	"errors"
	"time"

	"github.com/otel-mlx/otel-mlx/internal/detector"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// SeriesScorer scores one plain numeric series (one key) with the processor's numeric detector in
// its plain profile: the latency detector's sensitivity and seasonal setting, the warm-up and the
// cool-down of the configuration. It is what `mlxbacktest nab` runs on each NAB series. Not safe
// for concurrent use.
type SeriesScorer struct {
	p           detector.SignalParams
	sig         detector.Signal
	deb         detector.Debounce
	thr         float64
	cooldown    int64
	cooldownObs int
}

// NewSeriesScorer returns a scorer for one series.
func NewSeriesScorer(cfg *mlxanomaly.Config) (*SeriesScorer, error) {
	if cfg == nil {
		return nil, errors.New("backtest: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SeriesScorer{
		p:           detector.Profile(cfg.Warmup, cfg.Latency.Sensitivity, cfg.Latency.Seasonal, false),
		thr:         cfg.FlagThreshold,
		cooldown:    int64(cfg.Cooldown),
		cooldownObs: cfg.CooldownObservations,
	}, nil
}

// Score scores value v observed at t, causally. An observation scoring above the flag
// threshold within the cool-down of the previous onset reports at most half the threshold: it
// belongs to an incident already reported.
func (s *SeriesScorer) Score(t time.Time, v float64) (score float64, flagged bool) {
	ns := t.UnixNano()
	r := s.sig.Observe((ns/1e9)%86400, v, &s.p)
	s.deb.Tick()
	score = min(max(r.Score, 0), 1)
	if score >= s.thr {
		if s.deb.Onset(ns, s.cooldown, s.cooldownObs) {
			return score, true
		}
		return s.thr / 2, false
	}
	return score, false
}

// DefaultConfig returns the processor's default configuration, as its factory makes it.
func DefaultConfig() *mlxanomaly.Config {
	return mlxanomaly.NewFactory().CreateDefaultConfig().(*mlxanomaly.Config)
}

// NABConfig is the configuration `mlxbacktest nab` uses without --config: the defaults, with a
// longer warm-up, a cool-down counted in observations because NAB series have no common
// sampling rate, and the time-of-day model on (many NAB series are daily). Chosen by
// leave-one-category-out cross-validation (`mlxbacktest nabcv`).
func NABConfig() *mlxanomaly.Config {
	c := DefaultConfig()
	c.Warmup = 100
	c.Cooldown = 0
	c.CooldownObservations = 50
	c.Latency.Seasonal = true
	return c
}
