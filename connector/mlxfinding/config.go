package mlxfinding // import "github.com/otel-mlx/otel-mlx/connector/mlxfinding"

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Config of the mlxfinding connector.
type Config struct {
	// Severities overrides the severity of findings per mlxanomaly.type (keys: type names,
	// values: TRACE, DEBUG, INFO, WARN, ERROR, FATAL). Types not listed keep the defaults
	// (see README), unknown types get DefaultSeverity.
	Severities map[string]string `mapstructure:"severities"`
	// DefaultSeverity is the severity of a type that has no default and no override.
	DefaultSeverity string `mapstructure:"default_severity"`
}

// defaultSeverities: supply-chain findings are errors (a model that may run attacker code or
// is not the one reviewed), floods and resource abuse are warnings, performance anomalies are
// informational unless sustained.
var defaultSeverities = map[string]string{
	"model_digest_changed": "ERROR",
	"disallowed_format":    "ERROR",
	"new_model_source":     "WARN",
	"client_flood":         "WARN",
	"token_spike":          "WARN",
	"memory_spike":         "WARN",
	"reload_storm":         "WARN",
	"error_burst":          "WARN",
	"latency_shift":        "WARN",
	"latency_spike":        "INFO",
}

var severityNumbers = map[string]plog.SeverityNumber{
	"TRACE": plog.SeverityNumberTrace,
	"DEBUG": plog.SeverityNumberDebug,
	"INFO":  plog.SeverityNumberInfo,
	"WARN":  plog.SeverityNumberWarn,
	"ERROR": plog.SeverityNumberError,
	"FATAL": plog.SeverityNumberFatal,
}

func createDefaultConfig() *Config { return &Config{DefaultSeverity: "WARN"} }

func severityNames() string {
	names := make([]string, 0, len(severityNumbers))
	for n := range severityNumbers {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return severityNumbers[names[i]] < severityNumbers[names[j]] })
	return strings.Join(names, ", ")
}

// Validate checks every severity name.
func (c *Config) Validate() error {
	var errs []error
	if _, ok := severityNumbers[c.DefaultSeverity]; !ok {
		errs = append(errs, fmt.Errorf("default_severity: %q is not a severity; use one of %s", c.DefaultSeverity, severityNames()))
	}
	types := make([]string, 0, len(c.Severities))
	for t := range c.Severities {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, errors.New("severities: an empty type name; use an mlxanomaly.type such as client_flood"))
			continue
		}
		if _, ok := severityNumbers[c.Severities[t]]; !ok {
			errs = append(errs, fmt.Errorf("severities.%s: %q is not a severity; use one of %s", t, c.Severities[t], severityNames()))
		}
	}
	return errors.Join(errs...)
}

// severity returns the severity number and text of a finding of this type.
func (c *Config) severity(typ string) (plog.SeverityNumber, string) {
	name, ok := c.Severities[typ]
	if !ok {
		if name, ok = defaultSeverities[typ]; !ok {
			name = c.DefaultSeverity
		}
	}
	return severityNumbers[name], name
}
