package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"errors"
	"time"

	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly/internal/detector"
)

// SeriesScorer scores one plain numeric series (one key) with the processor's numeric detector:
// the latency detector's statistics, sensitivity and seasonal setting, the warm-up, and the
// cool-down. It is what `mlxbacktest nab` runs on each NAB series. Not safe for concurrent use.
type SeriesScorer struct {
	p           detector.SignalParams
	sig         detector.Signal
	deb         detector.Debounce
	thr         float64
	cooldown    int64
	cooldownObs int
}

// NewSeriesScorer returns a scorer for one series.
func NewSeriesScorer(cfg *Config) (*SeriesScorer, error) {
	if cfg == nil {
		return nil, errors.New("mlxanomaly: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SeriesScorer{
		p:           signalParams(cfg.Warmup, cfg.Latency, false),
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
	r := s.sig.Observe(tod(ns), v, &s.p)
	s.deb.Tick()
	score = clamp01(r.Score)
	if score >= s.thr {
		if s.deb.Onset(ns, s.cooldown, s.cooldownObs) {
			return score, true
		}
		return s.thr / 2, false
	}
	return score, false
}

// NABConfig is the configuration `mlxbacktest nab` uses without --config: the defaults, with a
// longer warm-up, a cool-down counted in observations because NAB series have no common
// sampling rate, and the time-of-day model on (many NAB series are daily).
func NABConfig() *Config {
	c := createDefaultConfig().(*Config)
	c.Warmup = 100
	c.Cooldown = 0
	c.CooldownObservations = 50
	c.Latency.Seasonal = true
	return c
}

// DefaultConfig returns the processor's default configuration.
func DefaultConfig() *Config { return createDefaultConfig().(*Config) }
