package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The default configuration, as shipped, with telemetrygen's spans made MLX model loads of a
// pickle file: the loads are flagged (one flag per incident: the first load, then again after
// the cool-down), the flagged spans reach the security file, and Prometheus counts the same number.
func TestDefaultConfigTelemetrygen(t *testing.T) {
	need(t, "TELEMETRYGEN_BIN", telemetrygen)
	c := newCollector(t, []string{"otelcol-config.yaml"})
	c.start()
	const traces = 40
	const spansPerTrace = 2 // telemetrygen: a client span and its server child
	cmd := exec.Command(telemetrygen, "traces", "--otlp-endpoint", c.grpc, "--otlp-insecure",
		"--traces", fmt.Sprint(traces), "--child-spans", "0", "--rate", "200", "--service", "tg-mlx",
		"--telemetry-attributes", `gen_ai.operation.name="load_model"`,
		"--telemetry-attributes", `gen_ai.provider.name="mlx"`,
		"--telemetry-attributes", `gen_ai.request.model="tg-pickle"`,
		"--telemetry-attributes", `mlx.model.format="pickle"`,
		"--telemetry-attributes", `mlx.model.source="file:///models/tg.pkl"`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("telemetrygen: %v\n%s", err, out)
	}

	var obs, sec []item
	eventually(t, 30*time.Second, func() (bool, string) {
		obs, _, _ = readOTLPFile(filepath.Join(c.dataDir, "observability", "telemetry.jsonl"))
		sec, _, _ = readOTLPFile(filepath.Join(c.dataDir, "security", "security.jsonl"))
		n := countItems(obs, func(it item) bool { return it.service == "tg-mlx" })
		return n == traces*spansPerTrace && len(sec) > 0, fmt.Sprintf("%d/%d spans in the observability file, %d in the security file", n, traces*spansPerTrace, len(sec))
	})
	for _, it := range sec {
		if !flagged(it) || it.attrs["mlxanomaly.type"] != "disallowed_format" || it.attrs["mlxanomaly.atlas.technique"] == nil {
			t.Errorf("security file holds a span that is not a flagged disallowed_format load: %v", it.attrs)
		}
	}
	flaggedObs := countItems(obs, flagged)
	if flaggedObs != len(sec) {
		t.Errorf("flagged spans: %d in the observability file, %d in the security file (want the same)", flaggedObs, len(sec))
	}
	for _, it := range obs {
		if _, ok := it.attrs["mlxanomaly.score"]; !ok {
			t.Errorf("span without mlxanomaly.score: %v", it.attrs)
			break
		}
	}

	prom := "http://" + c.prom + "/metrics"
	eventually(t, 30*time.Second, func() (bool, string) {
		calls, _, err := scrape(prom, "traces_span_metrics_calls_total", map[string]string{"gen_ai_request_model": "tg-pickle", "gen_ai_operation_name": "load_model"})
		fl, _, _ := scrape(prom, "mlxanomaly_flagged_spans_total", map[string]string{"mlxanomaly_type": "disallowed_format"})
		return calls == traces*spansPerTrace && int(fl) == len(sec), fmt.Sprintf("calls %v (want %d), flagged %v (want %d), err %v", calls, traces*spansPerTrace, fl, len(sec), err)
	})
	t.Logf("metrics exported by the distribution: %s", strings.Join(metricNames(t, prom), ", "))
}

// Security events and flagged items reach the security file and Prometheus counts; ordinary
// spans do not reach the security file.
func TestSecurityRouting(t *testing.T) {
	c := newCollector(t, []string{"otelcol-config.yaml"})
	c.start()
	now := time.Now()
	var ok []span
	for i := 0; i < 50; i++ {
		ok = append(ok, span{name: "chat m1", end: now.Add(time.Duration(i-50) * time.Second), duration: 80 * time.Millisecond,
			attrs: kv{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mlx", "gen_ai.request.model": "m1"}})
	}
	c.mustPost("/v1/traces", tracesJSON("svc-route", ok...))
	c.mustPost("/v1/traces", tracesJSON("svc-route", pickleLoad("evil", now)))
	c.mustPost("/v1/logs", logsJSON("svc-route", deniedEvent("evil", now), deniedEvent("evil2", now),
		event{name: "mlx.inference.completed", at: now, attrs: kv{"gen_ai.request.model": "m1"}}))
	// An ordinary application log: not security, stays on the observability path.
	c.mustPost("/v1/logs", []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-route"}}]},"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hello"}}]}]}]}`))

	var secSpans, secLogs []item
	eventually(t, 20*time.Second, func() (bool, string) {
		secSpans, secLogs, _ = readOTLPFile(filepath.Join(c.dataDir, "security", "security.jsonl"))
		return len(secSpans) >= 1 && len(secLogs) >= 3, fmt.Sprintf("%d spans, %d logs in the security file", len(secSpans), len(secLogs))
	})
	for _, s := range secSpans {
		if !flagged(s) {
			t.Errorf("unflagged span in the security file: %s %v", s.name, s.attrs)
		}
	}
	names := map[string]int{}
	for _, l := range secLogs {
		names[l.name]++
		if l.name == "" {
			t.Errorf("a log record without an mlx.* event name reached the security file: %v", l.attrs)
		}
		if l.attrs["event.name"] != l.name {
			t.Errorf("event.name attribute %v, want %q", l.attrs["event.name"], l.name)
		}
	}
	if names["mlx.model.policy.denied"] != 2 || names["mlx.inference.completed"] != 1 {
		t.Errorf("security events by name: %v", names)
	}
	prom := "http://" + c.prom + "/metrics"
	eventually(t, 20*time.Second, func() (bool, string) {
		d, _, _ := scrape(prom, "mlx_security_events_total", map[string]string{"event_name": "mlx.model.policy.denied"})
		i, _, _ := scrape(prom, "mlx_security_events_total", map[string]string{"event_name": "mlx.inference.completed"})
		return d == 2 && i == 1, fmt.Sprintf("policy.denied %v (want 2), inference.completed %v (want 1)", d, i)
	})
}

// Traces to Jaeger, security events to VictoriaLogs (OTLP/HTTP protobuf), through the
// backends overlay: Jaeger's query API shows the flagged spans with their mlxanomaly.*
// attributes, and a LogsQL query finds the events.
func TestJaegerAndVictoriaLogs(t *testing.T) {
	j := startJaeger(t, freeAddr(t))
	v := startVLogs(t, freeAddr(t))
	c := newCollector(t, []string{"otelcol-config.yaml", "otelcol-config.backends.yaml"},
		"OTELCOL_MLX_OBSERVABILITY_ENDPOINT="+j.otlpGRPC, "OTELCOL_MLX_OBSERVABILITY_INSECURE=true",
		"OTELCOL_MLX_SIEM_ENDPOINT=http://"+v.addr, "OTELCOL_MLX_SIEM_LOGS_ENDPOINT="+v.logsEndpoint())
	c.start()
	now := time.Now()
	c.mustPost("/v1/traces", tracesJSON("svc-backends", pickleLoad("evil-a", now), pickleLoad("evil-b", now),
		span{name: "chat m1", end: now, duration: time.Second, attrs: kv{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m1"}}))
	c.mustPost("/v1/logs", logsJSON("svc-backends", deniedEvent("evil-a", now), deniedEvent("evil-b", now)))

	eventually(t, 30*time.Second, func() (bool, string) {
		spans, err := j.spans("svc-backends", map[string]string{"mlxanomaly.flag": "true"})
		if err != nil {
			return false, err.Error()
		}
		for _, s := range spans {
			// The first pickle load teaches the service its source, so it is flagged for its
			// format; the second is flagged for its format or for its new source (both are
			// supply-chain findings of the same rank, and the first detector to fire names it).
			typ := s["mlxanomaly.type"]
			if (typ != "disallowed_format" && typ != "new_model_source") || s["mlxanomaly.atlas.technique"] == nil || s["mlxanomaly.key"] == nil {
				return false, fmt.Sprintf("flagged span without its mlxanomaly.* attributes: %v", s)
			}
		}
		return len(spans) == 2, fmt.Sprintf("%d flagged spans in Jaeger (want 2)", len(spans))
	})
	all, err := j.spans("svc-backends", nil)
	if err != nil || len(all) != 3 {
		t.Errorf("Jaeger holds %d spans of svc-backends (want 3), %v", len(all), err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		n, err := v.count(`"event.name":"mlx.model.policy.denied" AND "service.name":"svc-backends"`)
		return n == 2, fmt.Sprintf("VictoriaLogs: %d policy.denied events (want 2), %v", n, err)
	})
}

// Spans and log records accepted while the backends are down sit in the persistent queue;
// after kill -9 and a restart with the same data directory, every one is delivered.
func TestKill9PersistentQueue(t *testing.T) {
	jaegerAddr, vlAddr := freeAddr(t), freeAddr(t)
	c := newCollector(t, []string{"otelcol-config.yaml", "otelcol-config.backends.yaml"},
		"OTELCOL_MLX_OBSERVABILITY_ENDPOINT="+jaegerAddr, "OTELCOL_MLX_OBSERVABILITY_INSECURE=true",
		"OTELCOL_MLX_SIEM_ENDPOINT=http://"+vlAddr, "OTELCOL_MLX_SIEM_LOGS_ENDPOINT=http://"+vlAddr+"/insert/opentelemetry/v1/logs")
	c.start()
	const requests, perRequest = 20, 25
	now := time.Now()
	for r := 0; r < requests; r++ {
		var spans []span
		var events []event
		for i := 0; i < perRequest; i++ {
			at := now.Add(time.Duration(r*perRequest+i) * time.Millisecond)
			spans = append(spans, span{name: "predict m1", end: at, duration: 5 * time.Millisecond, attrs: kv{"gen_ai.operation.name": "predict", "gen_ai.request.model": "m1", "e2e.seq": r*perRequest + i}})
			events = append(events, event{name: "mlx.inference.completed", at: at, attrs: kv{"gen_ai.request.model": "m1", "e2e.seq": r*perRequest + i}})
		}
		c.mustPost("/v1/traces", tracesJSON("svc-kill9", spans...))
		c.mustPost("/v1/logs", logsJSON("svc-kill9", events...))
	}
	// Wait until the batch processor has handed everything to the exporters' persistent queues.
	telemetry := "http://" + c.telemetry + "/metrics"
	eventually(t, 20*time.Second, func() (bool, string) {
		ts, _, _ := scrape(telemetry, "otelcol_exporter_queue_size", map[string]string{"exporter": "otlp/observability"})
		ls, _, _ := scrape(telemetry, "otelcol_exporter_queue_size", map[string]string{"exporter": "otlphttp/siem"})
		sent, _, _ := scrape(telemetry, "otelcol_processor_batch_batch_send_size_count", nil)
		return ts > 0 && ls > 0 && sent > 0, fmt.Sprintf("queue sizes %v / %v", ts, ls)
	})
	time.Sleep(2 * time.Second) // past the batch timeout (1 s): nothing left in memory only
	c.proc.kill9()

	j := startJaeger(t, jaegerAddr)
	v := startVLogs(t, vlAddr)
	c.start()
	want := requests * perRequest
	eventually(t, 60*time.Second, func() (bool, string) {
		spans, err := j.spans("svc-kill9", nil)
		n, err2 := v.count(`"service.name":"svc-kill9"`)
		return len(spans) == want && n == want, fmt.Sprintf("after kill -9 and restart: %d/%d spans in Jaeger, %d/%d log records in VictoriaLogs (%v %v)", len(spans), want, n, want, err, err2)
	})
}

// The destination is down for 60 s while data arrives, then comes back: all delivered.
func TestDestinationDown60s(t *testing.T) {
	// Only the SIEM path is checked here; the observability exporter points at a closed port and
	// keeps its own queue.
	vlAddr := freeAddr(t)
	jaegerAddr := freeAddr(t)
	c := newCollector(t, []string{"otelcol-config.yaml", "otelcol-config.backends.yaml"},
		"OTELCOL_MLX_OBSERVABILITY_ENDPOINT="+jaegerAddr, "OTELCOL_MLX_OBSERVABILITY_INSECURE=true",
		"OTELCOL_MLX_SIEM_ENDPOINT=http://"+vlAddr, "OTELCOL_MLX_SIEM_LOGS_ENDPOINT=http://"+vlAddr+"/insert/opentelemetry/v1/logs")
	c.start()
	sent := 0
	start := time.Now()
	for time.Since(start) < 60*time.Second {
		var events []event
		for i := 0; i < 10; i++ {
			events = append(events, event{name: "mlx.inference.completed", at: time.Now(), attrs: kv{"e2e.seq": sent}})
			sent++
		}
		c.mustPost("/v1/logs", logsJSON("svc-down", events...))
		time.Sleep(500 * time.Millisecond)
	}
	v := startVLogs(t, vlAddr)
	eventually(t, 90*time.Second, func() (bool, string) {
		n, err := v.count(`"service.name":"svc-down"`)
		return n == sent, fmt.Sprintf("%d/%d log records delivered after 60 s down (%v)", n, sent, err)
	})
}

// Past memory_limiter, senders get a retryable refusal and the collector stays up.
func TestOverloadMemoryLimiter(t *testing.T) {
	c := newCollector(t, []string{"otelcol-config.yaml"}, "OTELCOL_MLX_MEMORY_LIMIT_MIB=60", "OTELCOL_MLX_MEMORY_SPIKE_MIB=20")
	c.start()
	big := strings.Repeat("x", 64<<10)
	var spans []span
	now := time.Now()
	for i := 0; i < 200; i++ {
		spans = append(spans, span{name: "chat big", end: now, duration: time.Millisecond, attrs: kv{"gen_ai.operation.name": "chat", "gen_ai.request.model": "big", "payload": big}})
	}
	body := tracesJSON("svc-overload", spans...) // ~13 MiB
	var refused, accepted, other atomic.Int64
	var codes sync.Map
	var wg sync.WaitGroup
	stop := time.Now().Add(20 * time.Second)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && refused.Load() < 5 {
				code, _, err := c.postJSON("/v1/traces", body)
				switch {
				case err != nil:
					other.Add(1)
				case code == 200:
					accepted.Add(1)
				case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
					refused.Add(1)
				default:
					other.Add(1)
					codes.Store(code, true)
				}
			}
		}()
	}
	wg.Wait()
	if refused.Load() == 0 {
		t.Errorf("no retryable refusal (503/429) under overload: %d accepted, %d other", accepted.Load(), other.Load())
	}
	codes.Range(func(k, _ any) bool { t.Errorf("non-retryable status under overload: %v", k); return true })
	if !c.proc.alive() {
		t.Fatalf("collector died under overload")
	}
	waitHTTP(t, c.proc, "http://"+c.health+"/", 10*time.Second)
	t.Logf("overload: %d accepted, %d refused (retryable), %d errors", accepted.Load(), refused.Load(), other.Load())
}

// Authentication and TLS: with the secure overlay, a request without the token is refused, one
// with it is accepted, over TLS with a certificate made here; plain HTTP gets nothing.
func TestAuthTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile, tokenFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "token")
	token := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	for f, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM, tokenFile: []byte(token)} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := newCollector(t, []string{"otelcol-config.yaml", "otelcol-config.secure.yaml"},
		"OTELCOL_MLX_TLS_CERT="+certFile, "OTELCOL_MLX_TLS_KEY="+keyFile, "OTELCOL_MLX_TOKEN_FILE="+tokenFile)
	c.start()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	body := tracesJSON("svc-auth", pickleLoad("m", time.Now()))
	send := func(auth string) int {
		req, _ := http.NewRequest(http.MethodPost, "https://"+c.http+"/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("https request: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(""); code != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", code)
	}
	if code := send("Bearer wrong-" + token); code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", code)
	}
	if code := send("Bearer " + token); code != 200 {
		t.Errorf("right token: status %d, want 200", code)
	}
	if code, _, err := c.postJSON("/v1/traces", body); err == nil && code == 200 {
		t.Errorf("plain HTTP accepted on the TLS endpoint")
	}
	// The accepted request, and only it, reached the destination.
	eventually(t, 20*time.Second, func() (bool, string) {
		spans, _, _ := readOTLPFile(filepath.Join(c.dataDir, "observability", "telemetry.jsonl"))
		return len(spans) == 1, fmt.Sprintf("%d spans at the destination (want 1)", len(spans))
	})
	// gRPC with TLS and the token, through telemetrygen.
	if telemetrygen != "" {
		caFile := filepath.Join(dir, "ca.crt")
		_ = os.WriteFile(caFile, certPEM, 0o600)
		out, err := exec.Command(telemetrygen, "traces", "--otlp-endpoint", c.grpc, "--ca-cert", caFile, "--traces", "3", "--service", "svc-auth-grpc",
			"--otlp-header", `Authorization="Bearer `+token+`"`).CombinedOutput()
		if err != nil {
			t.Errorf("telemetrygen over TLS with the token: %v\n%s", err, out)
		}
		out, err = exec.Command(telemetrygen, "traces", "--otlp-endpoint", c.grpc, "--ca-cert", caFile, "--traces", "1", "--service", "svc-auth-grpc").CombinedOutput()
		if err == nil && !strings.Contains(string(out), "Unauthenticated") {
			t.Errorf("telemetrygen over TLS without the token was not refused:\n%s", out)
		}
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "otelcol-mlx e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// Bad input gets a clear refusal or is processed; the collector never crashes.
func TestBadInput(t *testing.T) {
	c := newCollector(t, []string{"otelcol-config.yaml"})
	c.start()
	base := "http://" + c.http + "/v1/traces"
	cases := []struct {
		name, contentType string
		body              []byte
		want              []int
	}{
		{"malformed protobuf", "application/x-protobuf", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}, []int{400}},
		{"malformed JSON", "application/json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":`), []int{400}},
		{"wrong types in JSON", "application/json", []byte(`{"resourceSpans":"nope"}`), []int{400}},
		{"oversized request (17 MiB > 16 MiB limit)", "application/x-protobuf", bytes.Repeat([]byte{0}, 17<<20), []int{400, 413}},
	}
	for _, tc := range cases {
		code, msg, err := post(base, tc.contentType, tc.body)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		okCode := false
		for _, w := range tc.want {
			okCode = okCode || code == w
		}
		if !okCode {
			t.Errorf("%s: status %d, want one of %v (%s)", tc.name, code, tc.want, msg)
		}
		t.Logf("%s: %d %s", tc.name, code, strings.TrimSpace(msg))
	}
	// A span with 10,000 attributes: processed (scored, stored), the collector stays up.
	many := kv{"gen_ai.operation.name": "chat", "gen_ai.request.model": "wide"}
	for i := 0; i < 10000; i++ {
		many[fmt.Sprintf("attr.%05d", i)] = "v"
	}
	c.mustPost("/v1/traces", tracesJSON("svc-bad", span{name: "chat wide", end: time.Now(), duration: time.Millisecond, attrs: many}))
	eventually(t, 20*time.Second, func() (bool, string) {
		spans, _, _ := readOTLPFile(filepath.Join(c.dataDir, "observability", "telemetry.jsonl"))
		for _, s := range spans {
			if s.name == "chat wide" {
				return len(s.attrs) >= 10000, fmt.Sprintf("wide span stored with %d attributes", len(s.attrs))
			}
		}
		return false, "wide span not stored yet"
	})
	// gRPC: a malformed message is refused by the server, the collector stays up.
	if !c.proc.alive() {
		t.Fatal("collector exited on bad input")
	}
	waitHTTP(t, c.proc, "http://"+c.health+"/", 10*time.Second)
}
