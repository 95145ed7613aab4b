package mlxanomaly

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := defaultConfig()
	custom.Warmup = 50
	custom.Cooldown = 5 * time.Minute
	custom.CooldownObservations = 3
	custom.FlagThreshold = 0.6
	custom.KeyAttributes = []string{"deployment.environment"}
	custom.MaxKeys = 1000
	custom.MemoryBudgetMiB = 8
	custom.IdleTimeout = 2 * time.Hour
	custom.MaxClockSkew = 10 * time.Minute
	custom.Latency = SignalConfig{Enabled: true, Sensitivity: 1.5, Seasonal: false}
	custom.Memory.Enabled = false
	custom.Tokens.Sensitivity = 0.5
	custom.ErrorBurst = ErrorBurstConfig{Enabled: true, Ratio: 3, MinRate: 0.3, Window: 50}
	custom.SupplyChain.DisallowedFormats = []string{"pickle", "npy"}
	custom.ReloadStorm = ReloadStormConfig{Enabled: true, MaxLoads: 6, Window: 15 * time.Minute}
	custom.ClientFlood = ClientFloodConfig{Enabled: true, Interval: 30 * time.Second, TailProbability: 1e-9, MinRequests: 40}

	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(Type), want: defaultConfig()},
		{id: component.NewIDWithName(Type, "custom"), want: custom},
		{id: component.NewIDWithName(Type, "bad"), wantErr: []string{"warmup: 1", "flag_threshold: 1.5", "max_keys: 0",
			"latency.sensitivity: -1", "reload_storm.max_loads: 100"}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = cfg.(*Config).Validate()
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestValidateMessages(t *testing.T) {
	mod := func(f func(*Config)) *Config { c := defaultConfig(); f(c); return c }
	cases := map[string]*Config{
		"cooldown: -1s is negative":                    mod(func(c *Config) { c.Cooldown = -time.Second }),
		"cooldown_observations: -2":                    mod(func(c *Config) { c.CooldownObservations = -2 }),
		"key_attributes[0] is empty":                   mod(func(c *Config) { c.KeyAttributes = []string{" "} }),
		"key_attributes: 9 names":                      mod(func(c *Config) { c.KeyAttributes = strings.Split("a,b,c,d,e,f,g,h,i", ",") }),
		"memory_budget_mib: 0":                         mod(func(c *Config) { c.MemoryBudgetMiB = 0 }),
		"idle_timeout: 0s must be positive":            mod(func(c *Config) { c.IdleTimeout = 0 }),
		"max_clock_skew: 0s must be positive":          mod(func(c *Config) { c.MaxClockSkew = 0 }),
		"error_burst.ratio: 0.5":                       mod(func(c *Config) { c.ErrorBurst.Ratio = 0.5 }),
		"error_burst.min_rate: 2":                      mod(func(c *Config) { c.ErrorBurst.MinRate = 2 }),
		"error_burst.window: 1":                        mod(func(c *Config) { c.ErrorBurst.Window = 1 }),
		"reload_storm.window: 0s":                      mod(func(c *Config) { c.ReloadStorm.Window = 0 }),
		"client_flood.interval: 10ms is too short":     mod(func(c *Config) { c.ClientFlood.Interval = 10 * time.Millisecond }),
		"client_flood.tail_probability: 0.5":           mod(func(c *Config) { c.ClientFlood.TailProbability = 0.5 }),
		"client_flood.min_requests: 0":                 mod(func(c *Config) { c.ClientFlood.MinRequests = 0 }),
		"tokens.sensitivity: 11 is out of range":       mod(func(c *Config) { c.Tokens.Sensitivity = 11 }),
		"flag_threshold: 0 must be strictly between 0": mod(func(c *Config) { c.FlagThreshold = 0 }),
	}
	for want, cfg := range cases {
		err := cfg.Validate()
		if assert.Error(t, err, want) {
			assert.Contains(t, err.Error(), want)
		}
	}
	// A disabled detector's settings are not checked.
	c := defaultConfig()
	c.ErrorBurst = ErrorBurstConfig{}
	c.ReloadStorm = ReloadStormConfig{}
	c.ClientFlood = ClientFloodConfig{}
	c.Latency = SignalConfig{}
	assert.NoError(t, c.Validate())
}
