package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Config is the configuration of the mlxanomaly processor.
type Config struct {
	// Warmup is the number of observations a key needs before its numeric detectors score it.
	Warmup int `mapstructure:"warmup"`
	// Cooldown is the event time after an onset flag during which the same key and type are not
	// flagged again.
	Cooldown time.Duration `mapstructure:"cooldown"`
	// CooldownObservations additionally requires this many observations of the key between two
	// onsets (0: time only). Useful for sparse series whose rate is unknown in advance.
	CooldownObservations int `mapstructure:"cooldown_observations"`
	// FlagThreshold is the score at or above which an item is a detection.
	FlagThreshold float64 `mapstructure:"flag_threshold"`
	// KeyAttributes are extra span or log attributes (or resource attributes) whose values are
	// added to every detector key, e.g. deployment.environment.
	KeyAttributes []string `mapstructure:"key_attributes"`

	// MaxKeys caps the detector keys held; the least recently used key is evicted beyond it.
	MaxKeys int `mapstructure:"max_keys"`
	// MemoryBudgetMiB caps the memory of the detector state; the key cap is lowered to fit it.
	MemoryBudgetMiB int `mapstructure:"memory_budget_mib"`
	// IdleTimeout expires keys not seen for this long in event time.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxClockSkew: a timestamp further than this ahead of the newest one seen so far is treated
	// as the newest one, so a bogus future timestamp cannot age out every key.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`

	Latency     SignalConfig      `mapstructure:"latency"`
	Memory      SignalConfig      `mapstructure:"memory"`
	Tokens      SignalConfig      `mapstructure:"tokens"`
	ErrorBurst  ErrorBurstConfig  `mapstructure:"error_burst"`
	SupplyChain SupplyChainConfig `mapstructure:"supply_chain"`
	ReloadStorm ReloadStormConfig `mapstructure:"reload_storm"`
	ClientFlood ClientFloodConfig `mapstructure:"client_flood"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SignalConfig configures a detector of a numeric signal (latency, memory, tokens).
type SignalConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Sensitivity scales how easily the detector flags: 2 flags deviations half as surprising
	// as 1 does.
	Sensitivity float64 `mapstructure:"sensitivity"`
	// Seasonal learns a time-of-day profile and uses it when it fits the key better.
	Seasonal bool `mapstructure:"seasonal"`
}

// ErrorBurstConfig configures the error-rate detector.
type ErrorBurstConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Ratio: the recent error rate must exceed Ratio times the key's baseline rate…
	Ratio float64 `mapstructure:"ratio"`
	// MinRate: …and this absolute rate (a fraction of requests).
	MinRate float64 `mapstructure:"min_rate"`
	// Window is the number of recent requests the recent rate is averaged over.
	Window int `mapstructure:"window"`
}

// SupplyChainConfig configures the model supply-chain checks.
type SupplyChainConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// DisallowedFormats are mlx.model.format values that are flagged on every load.
	DisallowedFormats []string `mapstructure:"disallowed_formats"`
}

// ReloadStormConfig configures the reload-storm detector.
type ReloadStormConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// MaxLoads loads of one model within Window is a storm.
	MaxLoads int           `mapstructure:"max_loads"`
	Window   time.Duration `mapstructure:"window"`
}

// ClientFloodConfig configures the per-caller rate detector.
type ClientFloodConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Interval is the bucket over which a caller's requests and tokens are counted.
	Interval time.Duration `mapstructure:"interval"`
	// Ratio: a caller's count in the current interval must exceed Ratio times its own baseline
	// and Ratio times the population's typical caller…
	Ratio float64 `mapstructure:"ratio"`
	// MinRequests: …and at least this many requests (or MinRequests×100 tokens) in the interval.
	MinRequests int `mapstructure:"min_requests"`
}

const (
	maxReloadLoads = 8 // the ring of load times per model has this many slots
	maxKeyAttrs    = 8
)

func createDefaultConfig() component.Config {
	return &Config{
		Warmup:          30,
		Cooldown:        10 * time.Minute,
		FlagThreshold:   0.5,
		MaxKeys:         50_000,
		MemoryBudgetMiB: 64,
		IdleTimeout:     24 * time.Hour,
		MaxClockSkew:    time.Hour,
		Latency:         SignalConfig{Enabled: true, Sensitivity: 1},
		Memory:          SignalConfig{Enabled: true, Sensitivity: 1},
		Tokens:          SignalConfig{Enabled: true, Sensitivity: 1},
		ErrorBurst:      ErrorBurstConfig{Enabled: true, Ratio: 4, MinRate: 0.25, Window: 20},
		SupplyChain:     SupplyChainConfig{Enabled: true, DisallowedFormats: []string{mlxconv.FormatPickle, mlxconv.FormatUnknown}},
		ReloadStorm:     ReloadStormConfig{Enabled: true, MaxLoads: 4, Window: 10 * time.Minute},
		ClientFlood:     ClientFloodConfig{Enabled: true, Interval: time.Minute, Ratio: 5, MinRequests: 20},
	}
}

// Validate checks the configuration and says what to change.
func (c *Config) Validate() error {
	var errs []error
	if c.Warmup < 2 || c.Warmup > 100_000 {
		errs = append(errs, fmt.Errorf("warmup: %d observations is out of range: use 2 to 100000 (default 30)", c.Warmup))
	}
	if c.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown: %s is negative: use 0 or a duration such as 10m", c.Cooldown))
	}
	if c.CooldownObservations < 0 {
		errs = append(errs, fmt.Errorf("cooldown_observations: %d is negative: use 0 (off) or a count", c.CooldownObservations))
	}
	if !(c.FlagThreshold > 0 && c.FlagThreshold < 1) {
		errs = append(errs, fmt.Errorf("flag_threshold: %v must be strictly between 0 and 1 (default 0.5)", c.FlagThreshold))
	}
	if len(c.KeyAttributes) > maxKeyAttrs {
		errs = append(errs, fmt.Errorf("key_attributes: %d names, at most %d are allowed: every extra attribute multiplies the keys", len(c.KeyAttributes), maxKeyAttrs))
	}
	for i, k := range c.KeyAttributes {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("key_attributes[%d] is empty: give an attribute name such as deployment.environment", i))
		}
	}
	if c.MaxKeys < 1 || c.MaxKeys > 10_000_000 {
		errs = append(errs, fmt.Errorf("max_keys: %d is out of range: use 1 to 10000000 (default 50000)", c.MaxKeys))
	}
	if c.MemoryBudgetMiB < 1 || c.MemoryBudgetMiB > 64<<10 {
		errs = append(errs, fmt.Errorf("memory_budget_mib: %d is out of range: use 1 to 65536 (default 64)", c.MemoryBudgetMiB))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("idle_timeout: %s must be positive, e.g. 24h", c.IdleTimeout))
	}
	if c.MaxClockSkew <= 0 {
		errs = append(errs, fmt.Errorf("max_clock_skew: %s must be positive, e.g. 1h", c.MaxClockSkew))
	}
	for _, s := range []struct {
		name string
		c    SignalConfig
	}{{"latency", c.Latency}, {"memory", c.Memory}, {"tokens", c.Tokens}} {
		if s.c.Enabled && !(s.c.Sensitivity > 0 && s.c.Sensitivity <= 10) {
			errs = append(errs, fmt.Errorf("%s.sensitivity: %v is out of range: use a value in (0, 10], 1 is the default, higher flags more", s.name, s.c.Sensitivity))
		}
	}
	if e := c.ErrorBurst; e.Enabled {
		if e.Ratio < 1 {
			errs = append(errs, fmt.Errorf("error_burst.ratio: %v must be at least 1 (default 4)", e.Ratio))
		}
		if !(e.MinRate > 0 && e.MinRate <= 1) {
			errs = append(errs, fmt.Errorf("error_burst.min_rate: %v must be in (0, 1], a fraction of requests (default 0.25)", e.MinRate))
		}
		if e.Window < 2 || e.Window > 10_000 {
			errs = append(errs, fmt.Errorf("error_burst.window: %d requests is out of range: use 2 to 10000 (default 20)", e.Window))
		}
	}
	if r := c.ReloadStorm; r.Enabled {
		if r.MaxLoads < 2 || r.MaxLoads > maxReloadLoads {
			errs = append(errs, fmt.Errorf("reload_storm.max_loads: %d is out of range: use 2 to %d (default 4)", r.MaxLoads, maxReloadLoads))
		}
		if r.Window <= 0 {
			errs = append(errs, fmt.Errorf("reload_storm.window: %s must be positive, e.g. 10m", r.Window))
		}
	}
	if f := c.ClientFlood; f.Enabled {
		if f.Interval < time.Second {
			errs = append(errs, fmt.Errorf("client_flood.interval: %s is too short: use 1s or more (default 1m)", f.Interval))
		}
		if f.Ratio < 1 {
			errs = append(errs, fmt.Errorf("client_flood.ratio: %v must be at least 1 (default 5)", f.Ratio))
		}
		if f.MinRequests < 1 {
			errs = append(errs, fmt.Errorf("client_flood.min_requests: %d must be at least 1 (default 20)", f.MinRequests))
		}
	}
	return errors.Join(errs...)
}
