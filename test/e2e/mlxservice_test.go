package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example service on real MLX exports to the distribution: its policy denial of a pickle is
// flagged (span and event), reaches the security file, and is counted in Prometheus.
func TestMLXServiceThroughCollector(t *testing.T) {
	need(t, "MLXSERVICE_BIN", mlxservice)
	need(t, "OTELMLX_MODELS_DIR", modelsDir)
	c := newCollector(t, []string{"otelcol-config.yaml"})
	c.start()
	addr := freeAddr(t)
	token := fmt.Sprintf("e2e-admin-%d", time.Now().UnixNano())
	svc := startProcess(t, "mlxservice", []string{
		"MLXSERVICE_ADMIN_TOKEN=" + token, "OTEL_SERVICE_NAME=mlxservice-e2e",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + c.http, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=200", "OTEL_BLRP_SCHEDULE_DELAY=200", "OTEL_METRIC_EXPORT_INTERVAL=1000",
	}, mlxservice, "-addr", addr, "-model", filepath.Join(modelsDir, "classifier", "classifier.safetensors"), "-models-dir", modelsDir)
	waitHTTP(t, svc, "http://"+addr+"/healthz", 60*time.Second)

	row := "[0.1,-0.2,0.3,0.4,-0.5,0.6,0.7,-0.8,0.9,1.0,-1.1,1.2,0.0,0.5,-0.5,0.25]"
	for i := 0; i < 5; i++ {
		if code, msg, err := post("http://"+addr+"/v1/predict", "application/json", []byte(`{"inputs":[`+row+`]}`), "X-User", "alice"); err != nil || code != 200 {
			t.Fatalf("predict: %d %v %s", code, err, msg)
		}
	}
	body := fmt.Sprintf(`{"name":"evil","source":%q}`, filepath.Join(modelsDir, "unsafe", "disguised.safetensors"))
	if code, msg, _ := post("http://"+addr+"/admin/models", "application/json", []byte(body), "Authorization", "Bearer "+token); code != http.StatusForbidden {
		t.Fatalf("pickle load: status %d, want 403 (%s)", code, msg)
	}

	var spans, logs []item
	eventually(t, 30*time.Second, func() (bool, string) {
		spans, logs, _ = readOTLPFile(filepath.Join(c.dataDir, "security", "security.jsonl"))
		denied := countItems(logs, func(it item) bool { return it.name == "mlx.model.policy.denied" })
		flaggedLoads := countItems(append(spans, logs...), func(it item) bool {
			return flagged(it) && it.attrs["mlxanomaly.type"] == "disallowed_format" && it.attrs["gen_ai.request.model"] == "evil"
		})
		return denied >= 1 && flaggedLoads >= 1, fmt.Sprintf("security file: %d policy.denied events, %d flagged disallowed_format items", denied, flaggedLoads)
	})
	for _, it := range append(spans, logs...) {
		if it.service != "mlxservice-e2e" {
			t.Errorf("security item from service %q", it.service)
		}
		if v, ok := it.attrs["enduser.pseudo.id"].(string); ok && strings.Contains(v, "alice") {
			t.Errorf("caller identity in clear: %q", v)
		}
	}
	obs, _, _ := readOTLPFile(filepath.Join(c.dataDir, "observability", "telemetry.jsonl"))
	if n := countItems(obs, func(it item) bool { return strings.HasPrefix(it.name, "predict ") }); n < 5 {
		t.Errorf("%d predict spans in the observability file, want 5", n)
	}
	prom := "http://" + c.prom + "/metrics"
	eventually(t, 30*time.Second, func() (bool, string) {
		d, _, _ := scrape(prom, "mlx_security_events_total", map[string]string{"event_name": "mlx.model.policy.denied"})
		calls, _, _ := scrape(prom, "traces_span_metrics_calls_total", map[string]string{"job": "mlxservice-e2e", "gen_ai_operation_name": "predict"})
		return d >= 1 && calls >= 5, fmt.Sprintf("policy.denied count %v, predict calls %v", d, calls)
	})
	t.Logf("metrics exported by the distribution: %s", strings.Join(metricNames(t, prom), ", "))
	if out, err := http.Get(prom); err == nil {
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "mlx") || strings.HasPrefix(l, "traces_span_metrics_calls") {
				t.Log(l)
			}
		}
	}
}
