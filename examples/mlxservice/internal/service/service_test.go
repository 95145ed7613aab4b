//go:build mlx

package service

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log/logtest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/runtime/mlxc"
)

// These tests run the service on real MLX with the models of scripts/mlx/make_models.py;
// `make test-mlx` sets OTELMLX_MODELS_DIR.

type fixture struct {
	dir   string
	svc   *Service
	in    *otelmlx.Instrumenter
	srv   *httptest.Server
	spans *tracetest.SpanRecorder
	logs  *logtest.Recorder
}

func newFixture(t *testing.T, pinned map[string]string) *fixture {
	t.Helper()
	dir := os.Getenv("OTELMLX_MODELS_DIR")
	if dir == "" {
		t.Skip("OTELMLX_MODELS_DIR is not set: run `make test-mlx`")
	}
	f := &fixture{dir: dir, spans: tracetest.NewSpanRecorder(), logs: logtest.NewRecorder()}
	deny := true
	policy := &otelmlx.Policy{Mode: otelmlx.Enforce, AllowedSources: []string{"file://" + dir + "/"},
		AllowedFormats: []string{"safetensors", "gguf", "npz"}, DenyMalformed: &deny, PinnedDigests: pinned}
	in, err := otelmlx.New(otelmlx.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))),
		otelmlx.WithLoggerProvider(f.logs), otelmlx.WithPolicy(policy), otelmlx.WithMemoryStats(mlxc.StatsSource{Dev: mlxc.CPU}),
		otelmlx.WithIdentityKey([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	f.in = in
	f.svc, err = New(Config{Instrumenter: in, AdminToken: "admin-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Load(context.Background(), "classifier", filepath.Join(dir, "classifier", "classifier.safetensors"), ""); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.svc.Handler())
	t.Cleanup(func() { f.srv.Close(); f.svc.Close() })
	return f
}

func (f *fixture) post(t *testing.T, path string, hdr map[string]string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(b))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (f *fixture) events() []string {
	var out []string
	for _, recs := range f.logs.Result() {
		for _, r := range recs {
			out = append(out, r.EventName)
		}
	}
	return out
}

func (f *fixture) lastSpan(t *testing.T) map[attribute.Key]attribute.Value {
	t.Helper()
	ended := f.spans.Ended()
	if len(ended) == 0 {
		t.Fatal("no spans")
	}
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range ended[len(ended)-1].Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

var admin = map[string]string{"Authorization": "Bearer admin-secret"}

func TestPredictOnRealMLX(t *testing.T) {
	f := newFixture(t, nil)
	var ref struct {
		Input []float32 `json:"input"`
		Probs []float32 `json:"probs"`
	}
	b, _ := os.ReadFile(filepath.Join(f.dir, "classifier", "reference.json"))
	json.Unmarshal(b, &ref)
	code, out := f.post(t, "/v1/predict", map[string]string{"X-API-Key": "sk-alice"}, map[string]any{"inputs": [][]float32{ref.Input}})
	if code != 200 {
		t.Fatalf("status %d: %v", code, out)
	}
	probs := out["probs"].([]any)[0].([]any)
	for i, p := range probs {
		if math.Abs(p.(float64)-float64(ref.Probs[i])) > 1e-5 {
			t.Fatalf("probs %v, MLX Python computed %v", probs, ref.Probs)
		}
	}
	a := f.lastSpan(t)
	if a["enduser.pseudo.id"].AsString() != f.in.Pseudonym("key:sk-alice") || strings.Contains(a["enduser.pseudo.id"].AsString(), "alice") {
		t.Fatalf("enduser.pseudo.id %q", a["enduser.pseudo.id"].AsString())
	}
	if a["mlx.model.sha256"].AsString() != out["sha256"] || len(out["sha256"].(string)) != 64 {
		t.Fatalf("sha256 %v vs %v", a["mlx.model.sha256"].Emit(), out["sha256"])
	}
	if a["mlx.memory.active"].AsInt64() <= 0 || a["mlx.device"].AsString() != "cpu" || a["mlx.input.size"].AsInt64() != 16 {
		t.Fatalf("attributes %v", a)
	}
}

func TestPredictRejections(t *testing.T) {
	f := newFixture(t, nil)
	if code, _ := f.post(t, "/v1/predict", nil, map[string]any{"inputs": [][]float32{{1, 2, 3}}}); code != 400 {
		t.Fatalf("short row: %d", code)
	}
	if code, _ := f.post(t, "/v1/predict", nil, map[string]any{"model": "nope", "inputs": [][]float32{{1}}}); code != 404 {
		t.Fatalf("unknown model: %d", code)
	}
	if code, _ := f.post(t, "/v1/predict", nil, map[string]any{"inputs": make([][]float32, 300)}); code != 400 {
		t.Fatalf("too many rows: %d", code)
	}
	if n := strings.Count(strings.Join(f.events(), ","), "mlx.inference.rejected"); n != 3 {
		t.Fatalf("rejected events %d: %v", n, f.events())
	}
}

func TestAdminLoads(t *testing.T) {
	f := newFixture(t, nil)
	// Unauthenticated.
	if code, _ := f.post(t, "/admin/models", nil, map[string]string{"name": "x", "source": "y"}); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	// An allowed gguf, then a prediction with it.
	code, out := f.post(t, "/admin/models", admin, map[string]string{"name": "classifier-gguf",
		"source": "file://" + filepath.Join(f.dir, "classifier", "classifier.gguf")})
	if code != 201 || out["Format"] != "gguf" {
		t.Fatalf("gguf load: %d %v", code, out)
	}
	if code, _ := f.post(t, "/v1/predict", nil, map[string]any{"model": "classifier-gguf", "inputs": [][]float32{make([]float32, 16)}}); code != 200 {
		t.Fatalf("predict with gguf: %d", code)
	}
	// A pickle, even under a .safetensors name, is refused before MLX sees it.
	for _, p := range []string{"model.pkl", "disguised.safetensors"} {
		code, out := f.post(t, "/admin/models", admin, map[string]string{"name": "evil", "source": filepath.Join(f.dir, "unsafe", p)})
		if code != 403 || out["decision"] != "deny" {
			t.Fatalf("%s: %d %v", p, code, out)
		}
	}
	// A source outside the allowed directory.
	outside := filepath.Join(t.TempDir(), "classifier.safetensors")
	b, _ := os.ReadFile(filepath.Join(f.dir, "classifier", "classifier.safetensors"))
	os.WriteFile(outside, b, 0o600)
	if code, out := f.post(t, "/admin/models", admin, map[string]string{"name": "elsewhere", "source": outside}); code != 403 || out["rule"] != otelmlx.RuleSourceAllowed {
		t.Fatalf("outside source: %d %v", code, out)
	}
	if n := strings.Count(strings.Join(f.events(), ","), "mlx.model.policy.denied"); n != 3 {
		t.Fatalf("denied events %d: %v", n, f.events())
	}
	f.svc.mu.RLock()
	_, evil := f.svc.models["evil"]
	f.svc.mu.RUnlock()
	if evil {
		t.Fatal("a denied model was registered")
	}
}

func TestIntegrityMismatch(t *testing.T) {
	f := newFixture(t, map[string]string{"pinned": strings.Repeat("ab", 32)})
	before, _ := mlxc.Memory()
	code, out := f.post(t, "/admin/models", admin, map[string]string{"name": "pinned",
		"source": filepath.Join(f.dir, "classifier", "classifier.npz")})
	if code != 409 {
		t.Fatalf("status %d %v", code, out)
	}
	if !strings.Contains(strings.Join(f.events(), ","), "mlx.model.integrity.mismatch") {
		t.Fatalf("events %v", f.events())
	}
	if after, _ := mlxc.Memory(); after.Active > before.Active {
		t.Fatalf("the discarded model still holds memory: %d > %d", after.Active, before.Active)
	}
	if code, _ := f.post(t, "/v1/predict", nil, map[string]any{"model": "pinned", "inputs": [][]float32{make([]float32, 16)}}); code != 404 {
		t.Fatalf("mismatching model served: %d", code)
	}
}

// A language model directory loads through the admin endpoint and generates in process the
// tokens mlx_lm generates in Python.
func TestGenerateOnRealMLX(t *testing.T) {
	f := newFixture(t, nil)
	lmDir := filepath.Join(f.dir, "tiny-lm")
	code, out := f.post(t, "/admin/models", admin, map[string]string{"name": "tiny-lm", "source": lmDir})
	if code != 201 {
		t.Fatalf("load: %d %v", code, out)
	}
	if out["Files"].(float64) < 3 || out["Format"] != "safetensors" {
		t.Fatalf("load info %v", out)
	}
	var ref struct {
		Prompt []int32 `json:"prompt"`
		Greedy []int32 `json:"greedy"`
	}
	b, _ := os.ReadFile(filepath.Join(lmDir, "reference.json"))
	json.Unmarshal(b, &ref)
	code, out = f.post(t, "/v1/generate", map[string]string{"X-User": "dave"},
		map[string]any{"model": "tiny-lm", "tokens": ref.Prompt, "max_tokens": len(ref.Greedy)})
	if code != 200 {
		t.Fatalf("generate: %d %v", code, out)
	}
	got, _ := json.Marshal(out["tokens"])
	want, _ := json.Marshal(ref.Greedy)
	if string(got) != string(want) {
		t.Fatalf("tokens %s, mlx_lm generated %s", got, want)
	}
	a := f.lastSpan(t)
	if a["gen_ai.operation.name"].AsString() != "text_completion" || a["gen_ai.usage.output_tokens"].AsInt64() != int64(len(ref.Greedy)) ||
		a["gen_ai.usage.input_tokens"].AsInt64() != int64(len(ref.Prompt)) || a["gen_ai.request.max_tokens"].AsInt64() != int64(len(ref.Greedy)) {
		t.Fatalf("span attributes %v", a)
	}
	for _, bad := range []map[string]any{
		{"model": "tiny-lm", "tokens": []int{100000}},
		{"model": "tiny-lm", "tokens": []int{1}, "max_tokens": 100000},
		{"model": "classifier", "tokens": []int{1}},
	} {
		if code, out := f.post(t, "/v1/generate", nil, bad); code != 400 {
			t.Fatalf("%v: %d %v", bad, code, out)
		}
	}
}
