package mlxfinding

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(Type, "custom"), want: &Config{DefaultSeverity: "ERROR",
			Severities: map[string]string{"latency_spike": "WARN", "client_flood": "FATAL"}}},
		{id: component.NewIDWithName(Type, "bad"), wantErr: []string{
			`default_severity: "LOUD" is not a severity; use one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`,
			`severities.client_flood: "critical" is not a severity`}},
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

func TestSeverity(t *testing.T) {
	c := &Config{DefaultSeverity: "WARN", Severities: map[string]string{"latency_spike": "ERROR"}}
	for typ, want := range map[string]plog.SeverityNumber{
		"latency_spike":        plog.SeverityNumberError, // override
		"model_digest_changed": plog.SeverityNumberError, // default
		"client_flood":         plog.SeverityNumberWarn,  // default
		"something_new":        plog.SeverityNumberWarn,  // default_severity
	} {
		got, _ := c.severity(typ)
		assert.Equal(t, want, got, typ)
	}
}
