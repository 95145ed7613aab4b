// Package backtest holds what cmd/mlxbacktest needs of the mlxanomaly processor and a collector
// does not: the scorer of one plain numeric series (NAB), its configuration, and the loader of a
// processor configuration file.
package backtest

import (
	"fmt"
	"os"

	"go.opentelemetry.io/collector/confmap"

	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// maxConfigBytes bounds a configuration file read by LoadConfigFile.
const maxConfigBytes = 1 << 20

// LoadConfigFile reads a processor configuration from a YAML file holding the processor's
// settings (what goes under `processors: mlxanomaly:` in a collector configuration), applies it
// over base (the defaults when nil) and validates it.
func LoadConfigFile(path string, base *mlxanomaly.Config) (*mlxanomaly.Config, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxConfigBytes {
		return nil, fmt.Errorf("%s: %d bytes is too large for a processor configuration (limit %d)", path, st.Size(), maxConfigBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := confmap.NewRetrievedFromYAML(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	conf, err := r.AsConf()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := DefaultConfig()
	if base != nil {
		c := *base
		cfg = &c
	}
	if err := conf.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
