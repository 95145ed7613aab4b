package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
	"github.com/otel-mlx/otel-mlx/internal/nab"
	"github.com/otel-mlx/otel-mlx/internal/scenario"
)

// nabDir is the NAB development subset beside the repository (../shared/eval/nab), or NAB_DIR.
func nabDir(t *testing.T) string {
	if d := os.Getenv("NAB_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "eval", "nab"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(d, "windows.json")); err != nil {
		t.Skipf("no NAB data at %s (set NAB_DIR)", d)
	}
	return d
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestNABThresholds runs both command lines of `make eval` on the development subset and asserts
// the figures: standard at least 58, low-FP at least 50.
func TestNABThresholds(t *testing.T) {
	dir := nabDir(t)
	out := t.TempDir()
	_, stderr, code := runCmd(t, "nab", "--data", filepath.Join(dir, "data"), "--out", out)
	require.Equal(t, 0, code, stderr)

	// The output keeps the input's rows and timestamps, with a score in [0,1] per row.
	in, err := nab.ReadCSVFile(filepath.Join(dir, "data", "realKnownCause", "nyc_taxi.csv"))
	require.NoError(t, err)
	res, err := nab.ReadCSVFile(filepath.Join(out, "realKnownCause", "nyc_taxi.csv"))
	require.NoError(t, err)
	require.Equal(t, in.Times, res.Times)
	require.Equal(t, in.Values, res.Values)
	for _, e := range res.Extra {
		require.True(t, e[0] >= 0 && e[0] <= 1)
	}
	head, err := os.ReadFile(filepath.Join(out, "realKnownCause", "nyc_taxi.csv"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(head), "timestamp,value,anomaly_score\n2014-07-01 00:00:00,10844,"))

	series, err := nab.LoadResults(filepath.Join(dir, "windows.json"), out)
	require.NoError(t, err)
	got := map[string]float64{}
	for _, p := range nab.Profiles {
		r := nab.Score(series, p)
		got[p.Name] = r.Normalized
		t.Logf("NAB %s: %.2f (TP %d FP %d FN %d, threshold %.4f)", p.Name, r.Normalized, r.TP, r.FP, r.FN, r.Threshold)
	}
	assert.GreaterOrEqual(t, got["standard"], 58.0)
	assert.GreaterOrEqual(t, got["reward_low_FP_rate"], 50.0)

	stdout, stderr, code := runCmd(t, "nabscore", "--windows", filepath.Join(dir, "windows.json"), "--results", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "NAB standard")
	assert.Contains(t, stdout, "NAB reward_low_FN_rate")
}

// TestNABCausal: a row's score must not depend on later rows.
func TestNABCausal(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data", "c")
	require.NoError(t, os.MkdirAll(data, 0o755))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := 0; i < 600; i++ {
		v := float64(i%24) - 12 // zero and negative values too
		if i == 450 {
			v = 500
		}
		b.WriteString(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format("2006-01-02 15:04:05"))
		b.WriteString(",")
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteString("\n")
	}
	full := b.String()
	lines := strings.SplitAfter(full, "\n")
	cut := strings.Join(lines[:400], "")
	require.NoError(t, os.WriteFile(filepath.Join(data, "full.csv"), []byte(full), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(data, "cut.csv"), []byte(cut), 0o644))
	out := filepath.Join(dir, "out")
	_, stderr, code := runCmd(t, "nab", "--data", filepath.Join(dir, "data"), "--out", out)
	require.Equal(t, 0, code, stderr)
	f, err := nab.ReadCSVFile(filepath.Join(out, "c", "full.csv"))
	require.NoError(t, err)
	c, err := nab.ReadCSVFile(filepath.Join(out, "c", "cut.csv"))
	require.NoError(t, err)
	require.Len(t, c.Extra, 399)
	for i := range c.Extra {
		require.Equal(t, f.Extra[i], c.Extra[i], "row %d", i)
	}
	assert.Greater(t, f.Extra[450][0], 0.5, "the outlier scores high")
}

// TestScenarioThresholds runs the scenario suite and asserts the figures: recall at
// least 0.95 per type, at most 1 false alarm per key-day on clean traffic, median delay at most
// 2 minutes.
func TestScenarioThresholds(t *testing.T) {
	cfg := scenario.DefaultConfig()
	if raceEnabled {
		cfg.Days = 2 // the race detector slows replay ~10x; two days still hold 20 incidents per type
	}
	rep, n, err := runScenario(backtest.DefaultConfig(), cfg)
	require.NoError(t, err)
	t.Logf("%d items", n)
	require.Len(t, rep.Types, len(scenario.Types))
	for _, tr := range rep.Types {
		t.Logf("%-22s recall %.2f median delay %s", tr.Type, tr.Recall, tr.MedianDelay)
		assert.GreaterOrEqual(t, tr.Recall, 0.95, tr.Type)
		assert.LessOrEqual(t, tr.MedianDelay, 2*time.Minute, tr.Type)
	}
	assert.LessOrEqual(t, rep.PerKeyDay, 1.0)
	cfg.PerType = 0
	clean, _, err := runScenario(backtest.DefaultConfig(), cfg)
	require.NoError(t, err)
	t.Logf("clean: %d false alarms, %.3f per key-day", clean.FalseAlarms, clean.PerKeyDay)
	assert.LessOrEqual(t, clean.PerKeyDay, 1.0)
}

func TestOTLPReplay(t *testing.T) {
	dir := t.TempDir()
	s := scenario.Generate(scenario.Config{Seed: 3, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1,
		Services: 1, Models: 2, Callers: 4, Rate: 0.05, Warmup: time.Hour, PerType: 1})
	var lines []string
	var spans, logs int
	require.NoError(t, s.Batches(time.Hour, func(td ptrace.Traces, ld plog.Logs) error {
		if td.SpanCount() > 0 {
			b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
			require.NoError(t, err)
			lines = append(lines, string(b))
			spans += td.SpanCount()
		}
		if ld.LogRecordCount() > 0 {
			b, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
			require.NoError(t, err)
			lines = append(lines, string(b))
			logs += ld.LogRecordCount()
		}
		return nil
	}))
	// A bad line in the middle and a blank line: reported by number, the rest still written.
	mid := len(lines) / 2
	lines = append(lines[:mid], append([]string{`{"resourceMetrics":[]}`, `{not json`, ""}, lines[mid:]...)...)
	in := filepath.Join(dir, "in.json")
	out := filepath.Join(dir, "out.json")
	require.NoError(t, os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644))

	_, stderr, code := runCmd(t, "otlp", "--in", in, "--out", out)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "line "+strconv.Itoa(mid+1)+": neither resourceSpans nor resourceLogs")
	assert.Contains(t, stderr, "line "+strconv.Itoa(mid+2)+": not a JSON object")
	assert.Contains(t, stderr, "2 bad line(s) skipped")

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var gotSpans, gotLogs, scored, flagsSeen int
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(`"resourceSpans"`)) {
			td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
			require.NoError(t, err)
			gotSpans += td.SpanCount()
			for _, fl := range scenario.Flags(td, plog.NewLogs()) {
				flagsSeen++
				assert.NotEmpty(t, fl.Key)
			}
			scored += bytes.Count(line, []byte(`"mlxanomaly.score"`))
		} else {
			ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
			require.NoError(t, err)
			gotLogs += ld.LogRecordCount()
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, spans, gotSpans)
	assert.Equal(t, logs, gotLogs)
	assert.Equal(t, spans, scored, "every MLX span is scored")
	assert.Greater(t, flagsSeen, 0)

	// The same input replayed gives the same output: event time, not the wall clock.
	out2 := filepath.Join(dir, "out2.json")
	runCmd(t, "otlp", "--in", in, "--out", out2)
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	assert.Equal(t, string(a), string(b))
}

func TestCommandErrors(t *testing.T) {
	_, stderr, code := runCmd(t)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage")
	_, stderr, code = runCmd(t, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	_, stderr, code = runCmd(t, "otlp", "--in", "x")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--in and --out are required")
	_, stderr, code = runCmd(t, "nab", "--data", t.TempDir(), "--out", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no .csv series")
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("warmup: -3\n"), 0o644))
	_, stderr, code = runCmd(t, "scenarios", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "warmup: -3")
	bad := filepath.Join(t.TempDir(), "d")
	require.NoError(t, os.MkdirAll(bad, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "x.csv"), []byte("timestamp,value\n2020-01-01 00:00:00,abc\n"), 0o644))
	_, stderr, code = runCmd(t, "nab", "--data", bad, "--out", t.TempDir())
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `line 2: value "abc" is not a finite number`)
}

// TestRobustnessSuite runs the robustness suite at a reduced size (one day per shape, rates up to
// 5 requests a second) on seeds held out from tuning (the detectors were tuned on seeds 1 to 4;
// `make eval` runs the full sweep on seeds 101 and 102) and asserts the targets on every
// shape: recall at least 0.95, at most 1 false-alarm onset per service-day (all keys and types),
// median delay at most 2 minutes. On the sparse-callers shape no caller is flagged without a
// flood, every flood is found within a minute and token spikes are found.
func TestRobustnessSuite(t *testing.T) {
	seeds, n, maxRate := []uint64{7, 8}, 3, 5.0
	if raceEnabled {
		seeds, n, maxRate = []uint64{7}, 2, 1 // the race detector slows replay ~10x
	}
	for _, sh := range robustShapes(seeds, n, 1, maxRate, "stated") {
		r, err := runShape(backtest.DefaultConfig(), sh)
		require.NoError(t, err)
		t.Logf("%-70s items %8d recall %.2f (lowest type %.2f) FA/service-day %.2f median delay %s (%s)",
			sh.Name, r.items, r.recall, r.minType, r.rep.PerServiceDay, r.rep.MedianDelay, r.took.Round(time.Millisecond))
		assert.GreaterOrEqual(t, r.recall, 0.95, sh.Name)
		assert.LessOrEqual(t, r.rep.PerServiceDay, 1.0, "%s: %v", sh.Name, r.rep.FalseList)
		assert.LessOrEqual(t, r.rep.MedianDelay, 2*time.Minute, sh.Name)
		if strings.HasPrefix(sh.Name, "sparse-callers") {
			assert.Zero(t, r.rep.FalseByType[scenario.ClientFlood], "sparse callers flagged as floods")
			for _, tr := range r.rep.Types {
				if tr.Type == scenario.ClientFlood {
					assert.Equal(t, 1.0, tr.Recall)
					assert.LessOrEqual(t, tr.MaxDelay, time.Minute)
				}
				// 25-fold output on chat requests whose prompts are the larger part of the
				// tokens, with a request every few seconds.
				if tr.Type == scenario.TokenSpike {
					assert.GreaterOrEqual(t, tr.Recall, 0.95, "%s: token_spike", sh.Name)
				}
			}
		}
	}
}
