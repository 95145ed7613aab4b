// Package e2e runs the built otelcol-mlx binary with real senders (the example MLX service,
// contrib's telemetrygen, OTLP/JSON requests) and real backends (Jaeger, VictoriaLogs) on loopback,
// and checks what arrives. `make e2e` builds everything and sets the variables read here.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Paths of the binaries and configuration files under test, from `make e2e`.
var (
	otelcolBin   = os.Getenv("OTELCOL_MLX_BIN")
	configDir    = os.Getenv("OTELCOL_MLX_CONFIG_DIR")
	jaegerBin    = os.Getenv("JAEGER_BIN")
	vlogsBin     = os.Getenv("VLOGS_BIN")
	telemetrygen = os.Getenv("TELEMETRYGEN_BIN")
	mlxservice   = os.Getenv("MLXSERVICE_BIN")
	modelsDir    = os.Getenv("OTELMLX_MODELS_DIR")
)

func TestMain(m *testing.M) {
	for name, v := range map[string]string{"OTELCOL_MLX_BIN": otelcolBin, "OTELCOL_MLX_CONFIG_DIR": configDir} {
		if v == "" {
			fmt.Fprintf(os.Stderr, "e2e: %s is not set; run the tests with `make e2e` from the repository root\n", name)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// need fails the test when a binary the test needs was not given.
func need(t *testing.T, name, path string) {
	t.Helper()
	if path == "" {
		t.Fatalf("%s is not set; run the tests with `make e2e`", name)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// freeAddr returns a loopback address with a port nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is a server started by a test; it is killed when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProcess(t *testing.T, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.stop(); p.dumpIfFailed(t) })
	return p
}

func (p *process) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop asks the process to end (SIGTERM), then kills it after 10 s.
func (p *process) stop() {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill9 ends the process with SIGKILL: no shutdown, no flush.
func (p *process) kill9() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *process) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *process) dumpIfFailed(t *testing.T) {
	if t.Failed() {
		out := p.output()
		if len(out) > 6000 {
			out = "…" + out[len(out)-6000:]
		}
		t.Logf("--- %s log (%s) ---\n%s", p.name, p.log, out)
	}
}

// waitHTTP waits until url answers 200, failing the test after timeout or when p exits.
func waitHTTP(t *testing.T, p *process, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p != nil && !p.alive() {
			t.Fatalf("%s exited before %s answered:\n%s", p.name, url, p.output())
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, timeout)
}

// eventually polls cond until it holds, failing with the last message after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var msg string
	for {
		var ok bool
		ok, msg = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// collector is one otelcol-mlx process with its own ports and data directory.
type collector struct {
	t                                   *testing.T
	configs                             []string
	env                                 []string
	dataDir                             string
	grpc, http, prom, health, telemetry string
	proc                                *process
}

// newCollector prepares a collector on free loopback ports; configs are file names in the
// repository root (otelcol-config.yaml first) or absolute paths.
func newCollector(t *testing.T, configs []string, env ...string) *collector {
	t.Helper()
	c := &collector{t: t, dataDir: t.TempDir(),
		grpc: freeAddr(t), http: freeAddr(t), prom: freeAddr(t), health: freeAddr(t), telemetry: freeAddr(t)}
	for _, cfg := range configs {
		if !filepath.IsAbs(cfg) {
			cfg = filepath.Join(configDir, cfg)
		}
		c.configs = append(c.configs, cfg)
	}
	_, telemetryPort, _ := net.SplitHostPort(c.telemetry)
	c.env = append([]string{
		"OTELCOL_MLX_DATA_DIR=" + c.dataDir,
		"OTELCOL_MLX_OTLP_GRPC_ENDPOINT=" + c.grpc,
		"OTELCOL_MLX_OTLP_HTTP_ENDPOINT=" + c.http,
		"OTELCOL_MLX_PROMETHEUS_ENDPOINT=" + c.prom,
		"OTELCOL_MLX_HEALTH_ENDPOINT=" + c.health,
		"OTELCOL_MLX_PPROF_ENDPOINT=" + freeAddr(t),
		"OTELCOL_MLX_ZPAGES_ENDPOINT=" + freeAddr(t),
		"OTELCOL_MLX_TELEMETRY_PORT=" + telemetryPort,
		"OTELCOL_MLX_METRICS_FLUSH_INTERVAL=1s",
	}, env...)
	return c
}

func (c *collector) start() {
	c.t.Helper()
	var args []string
	for _, cfg := range c.configs {
		args = append(args, "--config", cfg)
	}
	c.proc = startProcess(c.t, "otelcol-mlx", c.env, otelcolBin, args...)
	waitHTTP(c.t, c.proc, "http://"+c.health+"/", 60*time.Second)
}

// post sends one OTLP/HTTP request and returns the status code and body.
func post(url, contentType string, body []byte, header ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), nil
}

func (c *collector) postJSON(path string, body []byte) (int, string, error) {
	return post("http://"+c.http+path, "application/json", body)
}

// mustPost sends an OTLP/JSON request that must be accepted.
func (c *collector) mustPost(path string, body []byte) {
	c.t.Helper()
	code, msg, err := c.postJSON(path, body)
	if err != nil || code != 200 {
		c.t.Fatalf("POST %s: %d %v %s", path, code, err, msg)
	}
}

// scrape returns the value of every sample of the metric in the Prometheus text at url whose
// labels include all the given label pairs, summed.
func scrape(url, metric string, labels map[string]string) (float64, bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(line, k+`="`+v+`"`) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line[strings.LastIndex(line, "}")+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("%q: %v", line, err)
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

// metricNames lists the metric names (without labels) exposed at url.
func metricNames(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	seen := map[string]bool{}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`).FindAllStringSubmatch(string(b), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1]+" ("+m[2]+")")
		}
	}
	return names
}

// ---- OTLP/JSON ----

type kv = map[string]any

func attrs(m kv) []kv {
	var out []kv
	for k, v := range m {
		var val kv
		switch x := v.(type) {
		case string:
			val = kv{"stringValue": x}
		case bool:
			val = kv{"boolValue": x}
		case int:
			val = kv{"intValue": strconv.Itoa(x)}
		case int64:
			val = kv{"intValue": strconv.FormatInt(x, 10)}
		case float64:
			val = kv{"doubleValue": x}
		default:
			panic(fmt.Sprintf("attrs: %T", v))
		}
		out = append(out, kv{"key": k, "value": val})
	}
	return out
}

var idSeq = time.Now().UnixNano()

func nextID(n int) string {
	idSeq++
	return fmt.Sprintf("%0*x", n, idSeq)
}

// span is one span of a test request.
type span struct {
	name     string
	attrs    kv
	end      time.Time
	duration time.Duration
	err      bool
}

func tracesJSON(service string, spans ...span) []byte {
	var js []kv
	for _, s := range spans {
		status := kv{"code": 0}
		if s.err {
			status = kv{"code": 2, "message": "failed"}
		}
		js = append(js, kv{
			"traceId": nextID(32), "spanId": nextID(16), "name": s.name, "kind": 1,
			"startTimeUnixNano": strconv.FormatInt(s.end.Add(-s.duration).UnixNano(), 10),
			"endTimeUnixNano":   strconv.FormatInt(s.end.UnixNano(), 10),
			"attributes":        attrs(s.attrs), "status": status,
		})
	}
	b, _ := json.Marshal(kv{"resourceSpans": []kv{{
		"resource":   kv{"attributes": attrs(kv{"service.name": service})},
		"scopeSpans": []kv{{"scope": kv{"name": "e2e"}, "spans": js}},
	}}})
	return b
}

// event is one MLX security event (a log record with an EventName).
type event struct {
	name  string
	attrs kv
	at    time.Time
}

func logsJSON(service string, events ...event) []byte {
	var js []kv
	for _, e := range events {
		js = append(js, kv{
			"timeUnixNano": strconv.FormatInt(e.at.UnixNano(), 10), "eventName": e.name,
			"severityNumber": 17, "severityText": "ERROR", "body": kv{"stringValue": e.name},
			"attributes": attrs(e.attrs),
		})
	}
	b, _ := json.Marshal(kv{"resourceLogs": []kv{{
		"resource":  kv{"attributes": attrs(kv{"service.name": service})},
		"scopeLogs": []kv{{"scope": kv{"name": "e2e"}, "logRecords": js}},
	}}})
	return b
}

// pickleLoad is a model-load span of a pickle file: mlxanomaly flags every one
// (disallowed_format), the most robust detection there is.
func pickleLoad(model string, at time.Time) span {
	return span{name: "load_model " + model, end: at, duration: 20 * time.Millisecond, attrs: kv{
		"gen_ai.operation.name": "load_model", "gen_ai.provider.name": "mlx", "gen_ai.request.model": model,
		"mlx.model.format": "pickle", "mlx.model.source": "file:///models/" + model + ".pkl",
		"mlx.model.source.kind": "local", "mlx.model.sha256": strings.Repeat("ab", 32),
		"mlx.policy.decision": "deny", "mlx.policy.rule": "format.unsafe",
	}}
}

func deniedEvent(model string, at time.Time) event {
	return event{name: "mlx.model.policy.denied", at: at, attrs: kv{
		"gen_ai.operation.name": "load_model", "gen_ai.request.model": model, "mlx.model.format": "pickle",
		"mlx.policy.decision": "deny", "mlx.policy.rule": "format.unsafe",
	}}
}

// ---- reading the file exporter's output ----

// item is one span or log record read back from an OTLP JSON file.
type item struct {
	service string
	name    string // span name, or log EventName
	attrs   map[string]any
}

// readOTLPFile reads every span and log record of the JSON lines at path (rotated backups
// included), tolerating a line being written.
func readOTLPFile(path string) (spans, logs []item, err error) {
	files, _ := filepath.Glob(strings.TrimSuffix(path, ".jsonl") + "*.jsonl")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var req struct {
				ResourceSpans []struct {
					Resource   struct{ Attributes []jsonKV }
					ScopeSpans []struct {
						Spans []struct {
							Name       string
							Attributes []jsonKV
						}
					}
				}
				ResourceLogs []struct {
					Resource  struct{ Attributes []jsonKV }
					ScopeLogs []struct {
						LogRecords []struct {
							EventName  string
							Attributes []jsonKV
						}
					}
				}
			}
			if json.Unmarshal(line, &req) != nil {
				continue // the line being written
			}
			for _, rs := range req.ResourceSpans {
				svc, _ := flat(rs.Resource.Attributes)["service.name"].(string)
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						spans = append(spans, item{svc, s.Name, flat(s.Attributes)})
					}
				}
			}
			for _, rl := range req.ResourceLogs {
				svc, _ := flat(rl.Resource.Attributes)["service.name"].(string)
				for _, sl := range rl.ScopeLogs {
					for _, l := range sl.LogRecords {
						logs = append(logs, item{svc, l.EventName, flat(l.Attributes)})
					}
				}
			}
		}
	}
	return spans, logs, nil
}

type jsonKV struct {
	Key   string
	Value map[string]any
}

func flat(kvs []jsonKV) map[string]any {
	m := map[string]any{}
	for _, a := range kvs {
		for _, v := range a.Value {
			m[a.Key] = v
		}
	}
	return m
}

func flagged(it item) bool { return it.attrs["mlxanomaly.flag"] == true }

func countItems(items []item, pred func(item) bool) int {
	n := 0
	for _, it := range items {
		if pred(it) {
			n++
		}
	}
	return n
}

// ---- backends ----

// jaeger is a Jaeger v2 (all-in-one, memory storage) on free loopback ports.
type jaeger struct {
	otlpGRPC, query string
	proc            *process
}

func startJaeger(t *testing.T, otlpGRPC string) *jaeger {
	t.Helper()
	need(t, "JAEGER_BIN", jaegerBin)
	j := &jaeger{otlpGRPC: otlpGRPC, query: freeAddr(t)}
	cfg := fmt.Sprintf(`
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: %s
    grpc:
      endpoint: %s
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`, j.query, freeAddr(t), otlpGRPC)
	path := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	j.proc = startProcess(t, "jaeger", nil, jaegerBin, "--config", path)
	waitHTTP(t, j.proc, "http://"+j.query+"/api/services", 90*time.Second)
	return j
}

// spans returns the spans of service in Jaeger whose tags match (Jaeger's tags filter).
func (j *jaeger) spans(service string, tags map[string]string) ([]map[string]any, error) {
	q := "http://" + j.query + "/api/traces?limit=100000&lookback=2h&service=" + service
	if len(tags) > 0 {
		b, _ := json.Marshal(tags)
		q += "&tags=" + urlEscape(string(b))
	}
	resp, err := http.Get(q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			Spans []struct {
				OperationName string
				Tags          []struct {
					Key   string
					Value any
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	var spans []map[string]any
	for _, tr := range out.Data {
		for _, s := range tr.Spans {
			m := map[string]any{"operationName": s.OperationName}
			for _, tg := range s.Tags {
				m[tg.Key] = tg.Value
			}
			spans = append(spans, m)
		}
	}
	return spans, nil
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// vlogs is a VictoriaLogs server on a free loopback port.
type vlogs struct {
	addr string
	proc *process
}

func startVLogs(t *testing.T, addr string) *vlogs {
	t.Helper()
	need(t, "VLOGS_BIN", vlogsBin)
	v := &vlogs{addr: addr}
	v.proc = startProcess(t, "victoria-logs", nil, vlogsBin, "-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(t.TempDir(), "vlogs"), "-retentionPeriod=100y", "-loggerLevel=WARN")
	waitHTTP(t, v.proc, "http://"+addr+"/health", 30*time.Second)
	return v
}

func (v *vlogs) logsEndpoint() string { return "http://" + v.addr + "/insert/opentelemetry/v1/logs" }

// count runs a LogsQL query and returns the number of matching log entries.
func (v *vlogs) count(query string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://"+v.addr+"/select/logsql/query?query="+urlEscape(query+" | stats count() n"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("logsql %q: %d %s", query, resp.StatusCode, b)
	}
	var row struct{ N string }
	if len(bytes.TrimSpace(b)) == 0 {
		return 0, nil
	}
	if err := json.Unmarshal(bytes.Split(b, []byte("\n"))[0], &row); err != nil {
		return 0, fmt.Errorf("logsql answer %q: %v", b, err)
	}
	return strconv.Atoi(row.N)
}

// rows runs a LogsQL query and returns the matching entries.
func (v *vlogs) rows(query string) ([]map[string]string, error) {
	resp, err := http.Get("http://" + v.addr + "/select/logsql/query?query=" + urlEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []map[string]string
	dec := json.NewDecoder(resp.Body)
	for {
		var m map[string]string
		if err := dec.Decode(&m); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}
