package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestGeneratedIsCurrent: the committed JSON is what the generator writes.
func TestGeneratedIsCurrent(t *testing.T) {
	for name, f := range Dashboards {
		want, err := render(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "dashboards", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the generator writes: run `cd deploy/grafana/gen && go run . -out ../dashboards`", name)
		}
	}
}

// promql is the Prometheus parser with its default options, as Prometheus reads rules.
var promql = parser.NewParser(parser.Options{})

// grafanaVars are Grafana's interval variables, replaced as Grafana does before the query
// reaches Prometheus.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "24h", "$__interval", "1m")

// exprs returns every PromQL expression of the dashboards and of the alert rules.
func exprs(t *testing.T) map[string]string {
	out := map[string]string{}
	for name := range Dashboards {
		b, err := os.ReadFile(filepath.Join("..", "dashboards", name))
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for i, tg := range p.Targets {
				out[name+": "+p.Title+"#"+string(rune('A'+i))] = grafanaVars.Replace(tg.Expr)
			}
		}
	}
	groups, errs := rulefmt.ParseFile(filepath.Join("..", "..", "prometheus", "mlx-alerts.yml"), false, model.UTF8Validation,
		promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("mlx-alerts.yml: %v", errs)
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			out["mlx-alerts.yml: "+r.Alert+r.Record] = r.Expr
		}
	}
	return out
}

// TestPromQLParses parses every expression with Prometheus's own parser.
func TestPromQLParses(t *testing.T) {
	all := exprs(t)
	if len(all) < 20 {
		t.Fatalf("only %d expressions found", len(all))
	}
	for where, e := range all {
		if _, err := promql.ParseExpr(e); err != nil {
			t.Errorf("%s: %v\n%s", where, err, e)
		}
	}
}

// scrapedNames reads the metric names of a Prometheus text exposition: a live scrape of a
// running otelcol-mlx: live (OTELMLX_SCRAPE_URL), kept by the alerting end-to-end test
// (OTELMLX_SCRAPE_FILE, set by `make test-alerts`), or recorded in testdata/scrape.txt (a copy
// of the file `make test-alerts` keeps in build/test-output/otelcol-scrape.txt).
func scrapedNames(t *testing.T) (map[string]bool, string) {
	var r io.Reader
	src := os.Getenv("OTELMLX_SCRAPE_URL")
	if src != "" {
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(src)
		if err != nil {
			t.Fatalf("scrape %s: %v", src, err)
		}
		defer resp.Body.Close()
		r = resp.Body
	} else {
		src = os.Getenv("OTELMLX_SCRAPE_FILE")
		if src == "" {
			src = filepath.Join("testdata", "scrape.txt")
		}
		f, err := os.Open(src)
		if err != nil {
			t.Skipf("no scrape of a running collector: set OTELMLX_SCRAPE_URL or OTELMLX_SCRAPE_FILE, or copy the scrape `make test-alerts` keeps to %s (%v)", src, err)
		}
		defer f.Close()
		r = f
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("%s: no samples", src)
	}
	return names, src
}

// TestMetricsAreExported: every metric an expression reads is one the distribution exports.
// A __name__ regex must match at least one exported metric.
func TestMetricsAreExported(t *testing.T) {
	names, src := scrapedNames(t)
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for where, e := range exprs(t) {
		ex, err := promql.ParseExpr(e)
		if err != nil {
			continue // TestPromQLParses reports it
		}
		parser.Inspect(ex, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			if vs.Name != "" {
				if !names[vs.Name] && !isRecording(vs.Name) {
					t.Errorf("%s: metric %s is not exported by the collector (%s)", where, vs.Name, src)
				}
				return nil
			}
			for _, m := range vs.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					continue
				}
				// The regex must match an exported metric. Its alternatives are listed when none
				// does; one alternative may be absent from a scrape (a metric appears with its
				// first data point, e.g. flagged log records).
				re := regexp.MustCompile("^(?:" + m.Value + ")$")
				found := false
				for _, n := range sorted {
					if re.MatchString(n) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("%s: no exported metric matches %s (%s)", where, m.Value, src)
				}
			}
			return nil
		})
	}
}

func isRecording(name string) bool { return strings.Contains(name, ":") }
