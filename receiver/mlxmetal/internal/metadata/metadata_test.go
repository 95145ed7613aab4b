package metadata

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// metadataYAML is the part of mdatagen's metadata.yaml schema this receiver uses.
type metadataYAML struct {
	Type   string `yaml:"type"`
	Status struct {
		Class     string              `yaml:"class"`
		Stability map[string][]string `yaml:"stability"`
	} `yaml:"status"`
	ResourceAttributes map[string]struct {
		Description string `yaml:"description"`
		Type        string `yaml:"type"`
		Enabled     bool   `yaml:"enabled"`
	} `yaml:"resource_attributes"`
	Metrics map[string]struct {
		Enabled     bool   `yaml:"enabled"`
		Description string `yaml:"description"`
		Unit        string `yaml:"unit"`
		Gauge       *struct {
			ValueType string `yaml:"value_type"`
		} `yaml:"gauge"`
		Sum *struct {
			ValueType   string `yaml:"value_type"`
			Monotonic   bool   `yaml:"monotonic"`
			Temporality string `yaml:"aggregation_temporality"`
		} `yaml:"sum"`
	} `yaml:"metrics"`
}

// metricIDNames lists the MetricID constants of builder.go in declaration (iota) order.
func metricIDNames(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "builder.go", nil, 0)
	require.NoError(t, err)
	var names []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST || len(gd.Specs) == 0 {
			continue
		}
		if vs := gd.Specs[0].(*ast.ValueSpec); vs.Type == nil || types.ExprString(vs.Type) != "MetricID" {
			continue
		}
		for _, sp := range gd.Specs {
			for _, n := range sp.(*ast.ValueSpec).Names {
				if n.IsExported() {
					names = append(names, n.Name)
				}
			}
		}
	}
	return names
}

func readMetadata(t *testing.T) metadataYAML {
	t.Helper()
	b, err := os.ReadFile("../../metadata.yaml")
	require.NoError(t, err)
	var m metadataYAML
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	require.NoError(t, dec.Decode(&m))
	require.NotEmpty(t, m.Metrics)
	return m
}

// goName is mdatagen's identifier for a metric or attribute name: each part between dots and
// underscores, capitalised (mlxmetal.gpu.system_memory.allocated ->
// MlxmetalGpuSystemMemoryAllocated). "id" is an initialism, as mdatagen spells it.
func goName(s string) string {
	var b strings.Builder
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '_' }) {
		if p == "id" {
			b.WriteString("ID")
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

// The hand-written type, stability and builder descriptors are what metadata.yaml says.
func TestCodeMatchesMetadataYAML(t *testing.T) {
	md := readMetadata(t)
	assert.Equal(t, md.Type, Type.String())
	assert.Equal(t, "receiver", md.Status.Class)
	assert.Equal(t, map[string][]string{"alpha": {"metrics"}}, md.Status.Stability)
	assert.Equal(t, "Alpha", MetricsStability.String())

	require.Len(t, Descriptors, len(md.Metrics), "one descriptor per metric of metadata.yaml")
	for id, d := range Descriptors {
		y, ok := md.Metrics[d.Name]
		if !assert.True(t, ok, "descriptor %d %s is not in metadata.yaml", id, d.Name) {
			continue
		}
		assert.Equal(t, y.Description, d.Description, d.Name)
		assert.Equal(t, y.Unit, d.Unit, d.Name)
		switch {
		case y.Gauge != nil:
			assert.Equal(t, gauge, d.kind, "%s is a gauge", d.Name)
			assert.Equal(t, y.Gauge.ValueType == "int", d.isInt, "%s value type", d.Name)
		case y.Sum != nil:
			want := upDownSum
			if y.Sum.Monotonic {
				want = monotonicSum
			}
			assert.Equal(t, want, d.kind, "%s sum kind", d.Name)
			assert.Equal(t, "cumulative", y.Sum.Temporality, d.Name)
			assert.Equal(t, y.Sum.ValueType == "int", d.isInt, "%s value type", d.Name)
		default:
			t.Errorf("%s: metadata.yaml has neither gauge nor sum", d.Name)
		}
	}
}

// Config field names, mapstructure keys and defaults follow metadata.yaml (mdatagen's names).
func TestConfigMatchesMetadataYAML(t *testing.T) {
	md := readMetadata(t)

	mc := reflect.ValueOf(DefaultMetricsConfig())
	seen := map[string]bool{}
	for i := range mc.NumField() {
		f := mc.Type().Field(i)
		key := f.Tag.Get("mapstructure")
		y, ok := md.Metrics[key]
		if !assert.True(t, ok, "metrics config key %s is not a metric of metadata.yaml", key) {
			continue
		}
		seen[key] = true
		assert.Equal(t, goName(key), f.Name, "config field of %s", key)
		assert.Equal(t, y.Enabled, mc.Field(i).Interface().(MetricConfig).Enabled, "default of %s", key)
	}
	assert.Len(t, seen, len(md.Metrics), "every metric of metadata.yaml has a config field")

	// Builder ids are named like the config fields, in the order of Descriptors.
	ids := metricIDNames(t)
	require.Len(t, ids, len(Descriptors))
	for id := range Descriptors {
		assert.Equal(t, goName(Descriptors[id].Name), ids[id], "MetricID %d", id)
	}

	rc := reflect.ValueOf(DefaultResourceAttributesConfig())
	require.Equal(t, len(md.ResourceAttributes), rc.NumField())
	for i := range rc.NumField() {
		f := rc.Type().Field(i)
		key := f.Tag.Get("mapstructure")
		y, ok := md.ResourceAttributes[key]
		if !assert.True(t, ok, "resource attribute %s is not in metadata.yaml", key) {
			continue
		}
		assert.Equal(t, goName(key), f.Name)
		assert.Equal(t, y.Enabled, rc.Field(i).Interface().(ResourceAttributeConfig).Enabled, key)
	}
}

// The README's status and metric tables agree with metadata.yaml.
func TestREADMEMatchesMetadataYAML(t *testing.T) {
	md := readMetadata(t)
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	assert.Regexp(t, `\| Stability\s+\| \[alpha\]: metrics \|`, readme)

	row := regexp.MustCompile("(?m)^\\| `([a-z_.]+)` \\| `([^`]+)` \\| ([^|]+) \\|[^|]*\\| (on|off)")
	got := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(readme, -1) {
		got[m[1]] = m[2:]
	}
	for name, y := range md.Metrics {
		r, ok := got[name]
		if !assert.True(t, ok, "README has no metric row for %s", name) {
			continue
		}
		assert.Equal(t, y.Unit, r[0], "README unit of %s", name)
		kind := "gauge"
		if y.Sum != nil {
			kind = "sum"
		}
		assert.True(t, strings.HasPrefix(r[1], kind), "README type of %s is %q, metadata.yaml says %s", name, r[1], kind)
		assert.Equal(t, y.Enabled, r[2] == "on", "README default of %s", name)
	}
	assert.Len(t, got, len(md.Metrics), "README metric rows: %v", got)
	for name := range md.ResourceAttributes {
		assert.Contains(t, readme, "| `"+name+"` |", "README resource attribute row")
	}
}
