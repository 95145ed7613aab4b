package otelmlx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/logtest"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// harness is an Instrumenter wired to in-memory recorders of all three signals.
type harness struct {
	in     *Instrumenter
	spans  *tracetest.SpanRecorder
	logs   *logtest.Recorder
	reader *sdkmetric.ManualReader
}

type fakeMemory struct{ stats MemoryStats }

func (f fakeMemory) MemoryStats() (MemoryStats, error) { return f.stats, nil }
func (fakeMemory) Device() string                      { return "cpu" }
func (fakeMemory) Version() string                     { return "0.32.4" }

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewSpanRecorder(), logs: logtest.NewRecorder(), reader: sdkmetric.NewManualReader()}
	base := []Option{
		WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))),
		WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))),
		WithLoggerProvider(h.logs),
		WithMemoryStats(fakeMemory{stats: MemoryStats{Active: 100, Peak: 200, Cache: 50, Limit: 1000}}),
	}
	in, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.in = in
	return h
}

func (h *harness) onlySpan(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	ended := h.spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("got %d ended spans, want 1", len(ended))
	}
	return ended[0]
}

func (h *harness) events() []logtest.Record {
	var out []logtest.Record
	for _, recs := range h.logs.Result() {
		out = append(out, recs...)
	}
	return out
}

func (h *harness) event(t *testing.T, name string) logtest.Record {
	t.Helper()
	for _, r := range h.events() {
		if r.EventName == name {
			return r
		}
	}
	var names []string
	for _, r := range h.events() {
		names = append(names, r.EventName)
	}
	t.Fatalf("no %s event; got %v", name, names)
	return logtest.Record{}
}

func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName || sm.Scope.Version != Version() {
			t.Errorf("metric scope %s@%s", sm.Scope.Name, sm.Scope.Version)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrMap(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// wantExactAttrs is wantAttrs for the whole set: an attribute that want does not name fails too.
func wantExactAttrs(t *testing.T, what string, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	wantAttrs(t, what, got, want)
	for _, kv := range got {
		if _, ok := want[string(kv.Key)]; !ok {
			t.Errorf("%s: unexpected attribute %s=%s", what, kv.Key, kv.Value.String())
		}
	}
	if n := len(attrMap(got)); n != len(got) {
		t.Errorf("%s: %d attributes, %d distinct keys", what, len(got), n)
	}
}

func wantAttrs(t *testing.T, what string, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	m := attrMap(got)
	for k, w := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s: missing attribute %s", what, k)
			continue
		}
		if ws, ok := w.([]string); ok {
			if strings.Join(ws, ",") != strings.Join(v.AsStringSlice(), ",") {
				t.Errorf("%s: %s = %v, want %v", what, k, v.AsStringSlice(), ws)
			}
			continue
		}
		if g := v.AsInterface(); g != w {
			t.Errorf("%s: %s = %v (%T), want %v (%T)", what, k, g, g, w, w)
		}
	}
}

func sameTrace(t *testing.T, r logtest.Record, s sdktrace.ReadOnlySpan) {
	t.Helper()
	sc := trace.SpanContextFromContext(r.Context)
	if sc.TraceID() != s.SpanContext().TraceID() || sc.SpanID() != s.SpanContext().SpanID() {
		t.Errorf("event %s carries trace %s span %s, want %s %s", r.EventName, sc.TraceID(), sc.SpanID(), s.SpanContext().TraceID(), s.SpanContext().SpanID())
	}
}

// writeSafetensors writes a valid one-tensor safetensors file and returns its path and digest.
func writeSafetensors(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	hdr, _ := json.Marshal(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}})
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.Write(hdr)
	b.Write(make([]byte, 8))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b.Bytes())
	return p, hex.EncodeToString(s[:])
}

type model struct{ closed atomic.Bool }

func (m *model) Close() error { m.closed.Store(true); return nil }

func TestLoadSucceeded(t *testing.T) {
	h := newHarness(t)
	path, digest := writeSafetensors(t, t.TempDir(), "tiny.safetensors")
	calls := 0
	m, info, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: path}, func(ctx context.Context) (*model, error) {
		calls++
		if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
			t.Error("load function did not get the span context")
		}
		return &model{}, nil
	})
	if err != nil || m == nil || calls != 1 {
		t.Fatalf("Load: %v, model %v, calls %d", err, m, calls)
	}
	if info.SHA256 != digest || info.Format != "safetensors" || info.Files != 1 {
		t.Fatalf("info %+v", info)
	}
	s := h.onlySpan(t)
	if s.Name() != "load_model tiny" || s.SpanKind() != trace.SpanKindInternal {
		t.Fatalf("span %q kind %v", s.Name(), s.SpanKind())
	}
	realPath, _ := filepath.EvalSymlinks(path)
	want := map[string]any{
		"gen_ai.operation.name": "load_model", "gen_ai.provider.name": "mlx", "gen_ai.request.model": "tiny",
		"mlx.model.source": "file://" + realPath, "mlx.model.source.kind": "local", "mlx.model.format": "safetensors",
		"mlx.model.sha256": digest, "mlx.model.size": int64(96), "mlx.model.files": int64(1),
		"mlx.policy.decision": "allow", "mlx.policy.rule": "default",
		"mlx.memory.active": int64(100), "mlx.memory.peak": int64(200), "mlx.memory.cache": int64(50),
		"mlx.device": "cpu", "mlx.version": "0.32.4",
	}
	if fi, _ := os.Stat(path); fi.Size() != 96 {
		want["mlx.model.size"] = fi.Size()
	}
	wantExactAttrs(t, "span", s.Attributes(), want)
	if s.Status().Code == codes.Error {
		t.Errorf("status %v", s.Status())
	}
	ev := h.event(t, EventLoadSucceeded)
	if ev.Severity != log.SeverityInfo {
		t.Errorf("severity %v", ev.Severity)
	}
	wantExactAttrs(t, "event", ev.Attributes, want)
	sameTrace(t, ev, s)

	ms := h.metrics(t)
	hist, ok := ms["mlx.model.load.duration"].Data.(metricdata.Histogram[float64])
	if !ok || len(hist.DataPoints) != 1 || hist.DataPoints[0].Count != 1 {
		t.Fatalf("load duration metric %+v", ms["mlx.model.load.duration"])
	}
	if ms["mlx.model.load.duration"].Unit != "s" {
		t.Errorf("unit %q", ms["mlx.model.load.duration"].Unit)
	}
	g, ok := ms["mlx.memory.active"].Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 || g.DataPoints[0].Value != 100 || ms["mlx.memory.active"].Unit != "By" {
		t.Fatalf("memory gauge %+v", ms["mlx.memory.active"])
	}

	// A second load of the unchanged file reuses the cached digest.
	_, info2, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: path}, func(context.Context) (*model, error) { return &model{}, nil })
	if err != nil || info2.SHA256 != digest {
		t.Fatalf("second load %v %+v", err, info2)
	}
}

func TestPolicyDenialNeverCallsLoad(t *testing.T) {
	dir := t.TempDir()
	pickle := filepath.Join(dir, "model.safetensors")
	os.WriteFile(pickle, []byte("\x80\x04\x95cos\nsystem\n"), 0o644)
	good, _ := writeSafetensors(t, dir, "good.safetensors")
	policy := &Policy{Mode: Enforce, AllowedSources: []string{"file://" + mustReal(t, dir) + "/good*"}, AllowedFormats: []string{"safetensors"}}

	for _, tc := range []struct{ name, path, rule string }{
		{"pickle renamed safetensors", pickle, RuleSourceAllowed},
		{"unsafe format from allowed source", pickle, RuleUnsafeFormat},
		{"source not allowed", good, RuleSourceAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := *policy
			if tc.rule == RuleUnsafeFormat {
				p.AllowedSources = []string{"file://" + mustReal(t, dir) + "/*"}
			}
			if tc.path == good {
				p.AllowedSources = []string{"hf://mlx-community/"}
			}
			h := newHarness(t, WithPolicy(&p))
			called := false
			_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: tc.path}, func(context.Context) (*model, error) {
				called = true
				return &model{}, nil
			})
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Rule != tc.rule {
				t.Fatalf("err %v, want PolicyError rule %s", err, tc.rule)
			}
			if called {
				t.Fatal("load function called despite denial")
			}
			if info.Decision != DecisionDeny {
				t.Fatalf("decision %s", info.Decision)
			}
			s := h.onlySpan(t)
			if s.Status().Code != codes.Error {
				t.Errorf("span status %v", s.Status())
			}
			wantAttrs(t, "span", s.Attributes(), map[string]any{"mlx.policy.decision": "deny", "mlx.policy.rule": tc.rule, "error.type": "policy_denied"})
			ev := h.event(t, EventPolicyDenied)
			if ev.Severity != log.SeverityError {
				t.Errorf("severity %v", ev.Severity)
			}
			sameTrace(t, ev, s)
		})
	}
}

func mustReal(t *testing.T, p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAuditModeLetsLoadProceed(t *testing.T) {
	dir := t.TempDir()
	pickle := filepath.Join(dir, "weights.bin")
	os.WriteFile(pickle, []byte("\x80\x02}q\x00."), 0o644)
	h := newHarness(t, WithPolicy(&Policy{Mode: Audit, AllowedFormats: []string{"safetensors"}}))
	called := false
	_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: pickle}, func(context.Context) (int, error) { called = true; return 1, nil })
	if err != nil || !called {
		t.Fatalf("audit mode: err %v called %v", err, called)
	}
	if info.Decision != DecisionAudit || info.Rule != RuleUnsafeFormat || info.Format != "pickle" {
		t.Fatalf("info %+v", info)
	}
	if ev := h.event(t, EventPolicyDenied); ev.Severity != log.SeverityWarn {
		t.Errorf("audit denial severity %v", ev.Severity)
	}
	h.event(t, EventLoadSucceeded)
}

func TestIntegrityMismatch(t *testing.T) {
	for _, before := range []bool{false, true} {
		t.Run(map[bool]string{false: "hash while loading", true: "verify before load"}[before], func(t *testing.T) {
			path, digest := writeSafetensors(t, t.TempDir(), "m.safetensors")
			pin := strings.Repeat("ab", 32)
			h := newHarness(t, WithPolicy(&Policy{Mode: Enforce, PinnedDigests: map[string]string{"tiny": pin}, VerifyBeforeLoad: before}))
			loaded := &model{}
			called := false
			got, _, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: path}, func(context.Context) (*model, error) { called = true; return loaded, nil })
			var ie *IntegrityError
			if !errors.As(err, &ie) || ie.Actual != digest || ie.Expected != pin {
				t.Fatalf("err %v", err)
			}
			if got != nil {
				t.Fatal("mismatching model returned to caller")
			}
			if before && called {
				t.Fatal("load ran although the digest was verified first")
			}
			if !before && !loaded.closed.Load() {
				t.Fatal("discarded model was not closed")
			}
			ev := h.event(t, EventIntegrityMismatch)
			if ev.Severity != log.SeverityFatal {
				t.Errorf("severity %v", ev.Severity)
			}
			wantAttrs(t, "event", ev.Attributes, map[string]any{"mlx.model.sha256": digest, "mlx.model.sha256.expected": pin, "mlx.policy.rule": "digest.pinned"})
			s := h.onlySpan(t)
			sameTrace(t, ev, s)
			wantAttrs(t, "span", s.Attributes(), map[string]any{"error.type": "integrity_mismatch", "mlx.policy.decision": "deny"})
		})
	}
}

func TestPinnedDigestMatches(t *testing.T) {
	path, digest := writeSafetensors(t, t.TempDir(), "m.safetensors")
	h := newHarness(t, WithPolicy(&Policy{Mode: Enforce, PinnedDigests: map[string]string{"tiny": strings.ToUpper(digest)}}))
	if _, _, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: path}, func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	h.event(t, EventLoadSucceeded)
}

func TestLoadMalformedIsAParseFault(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(1<<30))
	b.WriteString(`{"w":1}`)
	os.WriteFile(p, b.Bytes(), 0o644)

	h := newHarness(t)
	_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (int, error) {
		return 0, errors.New("mlx: [load_safetensors] invalid header")
	})
	if err == nil || info.Format != "safetensors" {
		t.Fatalf("err %v info %+v", err, info)
	}
	ev := h.event(t, EventLoadFailed)
	if ev.Severity != log.SeverityError {
		t.Errorf("parse fault severity %v, want ERROR", ev.Severity)
	}
	wantAttrs(t, "event", ev.Attributes, map[string]any{"mlx.model.format.detail": "m.safetensors: safetensors: header length 1073741824 exceeds the 100000000 byte cap"})

	// The default-deny of malformed files in a YAML policy refuses it before the load.
	pol, perr := ParsePolicy([]byte("mode: enforce\n"))
	if perr != nil {
		t.Fatal(perr)
	}
	h2 := newHarness(t, WithPolicy(pol))
	_, _, err = Load(context.Background(), h2.in, ModelRef{Name: "m", Source: p}, func(context.Context) (int, error) { t.Fatal("called"); return 0, nil })
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Rule != RuleMalformed {
		t.Fatalf("err %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	h := newHarness(t)
	_, _, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: filepath.Join(t.TempDir(), "nope")}, func(context.Context) (int, error) { t.Fatal("called"); return 0, nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v", err)
	}
	if ev := h.event(t, EventLoadFailed); ev.Severity != log.SeverityWarn {
		t.Errorf("severity %v", ev.Severity)
	}
}

func TestRemoteLoadIsClientSpan(t *testing.T) {
	h := newHarness(t)
	_, info, err := Load(context.Background(), h.in, ModelRef{Name: "llama", Source: "https://user:pw@models.example/llama.gguf?token=s3cr3t"}, func(context.Context) (int, error) { return 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	s := h.onlySpan(t)
	if s.SpanKind() != trace.SpanKindClient || info.SourceKind != "https" {
		t.Fatalf("kind %v info %+v", s.SpanKind(), info)
	}
	for _, kv := range s.Attributes() {
		if strings.Contains(kv.Value.String(), "s3cr3t") || strings.Contains(kv.Value.String(), "pw@") {
			t.Fatalf("credential recorded in %s=%s", kv.Key, kv.Value.String())
		}
	}
}

func TestLoadPanicEndsSpanAndRepanics(t *testing.T) {
	h := newHarness(t)
	path, _ := writeSafetensors(t, t.TempDir(), "m.safetensors")
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the original panic", r)
		}
		s := h.onlySpan(t)
		wantAttrs(t, "span", s.Attributes(), map[string]any{"error.type": "panic"})
		if s.Status().Code != codes.Error {
			t.Error("status not error")
		}
		h.event(t, EventLoadFailed)
	}()
	Load(context.Background(), h.in, ModelRef{Name: "m", Source: path}, func(context.Context) (int, error) { panic("boom") })
}

func TestInferSucceeded(t *testing.T) {
	h := newHarness(t, WithIdentityKey([]byte("0123456789abcdef0123456789abcdef")))
	out, err := Infer(context.Background(), h.in, Request{
		Operation: OperationChat, Model: "tiny-lm", ModelSHA256: strings.Repeat("c", 64), RequestID: "req-1",
		Identity: "alice@example.com", ClientAddress: "10.0.0.7", MaxTokens: 64, InputSize: 12, Prompt: "my password is hunter2",
	}, func(ctx context.Context) (string, Response, error) {
		return "hi", Response{Model: "tiny-lm", ID: "chatcmpl-1", InputTokens: 5, OutputTokens: 7, FinishReasons: []string{"stop"}, Content: "secret reply"}, nil
	})
	if err != nil || out != "hi" {
		t.Fatalf("Infer: %q %v", out, err)
	}
	s := h.onlySpan(t)
	if s.Name() != "chat tiny-lm" {
		t.Fatalf("span name %q", s.Name())
	}
	want := map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mlx", "gen_ai.request.model": "tiny-lm",
		"gen_ai.response.model": "tiny-lm", "gen_ai.request.max_tokens": int64(64), "gen_ai.usage.input_tokens": int64(5),
		"gen_ai.usage.output_tokens": int64(7), "gen_ai.response.finish_reasons": []string{"stop"}, "gen_ai.response.id": "chatcmpl-1",
		"mlx.model.sha256": strings.Repeat("c", 64), "mlx.request.id": "req-1", "client.address": "10.0.0.7", "mlx.input.size": int64(12),
		"enduser.pseudo.id": h.in.Pseudonym("alice@example.com"), "mlx.memory.active": int64(100), "mlx.memory.peak": int64(200),
		"mlx.memory.cache": int64(50), "mlx.device": "cpu", "mlx.version": "0.32.4",
	}
	wantExactAttrs(t, "span", s.Attributes(), want)
	ev := h.event(t, EventInferenceCompleted)
	wantExactAttrs(t, "event", ev.Attributes, map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.request.model": "tiny-lm", "mlx.model.sha256": strings.Repeat("c", 64),
		"mlx.request.id": "req-1", "enduser.pseudo.id": h.in.Pseudonym("alice@example.com"), "client.address": "10.0.0.7",
		"gen_ai.usage.input_tokens": int64(5), "gen_ai.usage.output_tokens": int64(7),
	})
	sameTrace(t, ev, s)
	for _, kv := range append(s.Attributes(), ev.Attributes...) {
		v := kv.Value.String()
		if strings.Contains(v, "alice") || strings.Contains(v, "hunter2") || strings.Contains(v, "secret reply") {
			t.Fatalf("identity or content recorded: %s=%s", kv.Key, v)
		}
	}
	pid := attrMap(s.Attributes())["enduser.pseudo.id"].AsString()
	plain := sha256.Sum256([]byte("alice@example.com"))
	if len(pid) != 32 || strings.HasPrefix(hex.EncodeToString(plain[:]), pid) {
		t.Fatalf("pseudo id %q is not a keyed HMAC", pid)
	}

	ms := h.metrics(t)
	dur := ms["gen_ai.client.operation.duration"].Data.(metricdata.Histogram[float64])
	if len(dur.DataPoints) != 1 || dur.DataPoints[0].Count != 1 {
		t.Fatalf("duration %+v", dur)
	}
	if got := dur.DataPoints[0].Bounds; len(got) != len(durationBuckets) || got[0] != 0.01 || got[len(got)-1] != 81.92 {
		t.Fatalf("duration buckets %v", got)
	}
	wantAttrs(t, "duration metric", dur.DataPoints[0].Attributes.ToSlice(), map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mlx", "gen_ai.request.model": "tiny-lm"})
	tok := ms["gen_ai.client.token.usage"].Data.(metricdata.Histogram[int64])
	sums := map[string]int64{}
	for _, dp := range tok.DataPoints {
		v, _ := dp.Attributes.Value("gen_ai.token.type")
		sums[v.AsString()] = dp.Sum
	}
	if sums["input"] != 5 || sums["output"] != 7 || ms["gen_ai.client.token.usage"].Unit != "{token}" {
		t.Fatalf("token usage %v", sums)
	}
}

func TestInferContentCaptureOptIn(t *testing.T) {
	h := newHarness(t, WithContentCapture(true))
	Infer(context.Background(), h.in, Request{Operation: OperationChat, Model: "m", Prompt: "hello\x1b[2J"}, func(context.Context) (int, Response, error) {
		return 0, Response{Content: "world"}, nil
	})
	wantAttrs(t, "event", h.event(t, EventInferenceCompleted).Attributes, map[string]any{"gen_ai.input.messages": `hello\x1b[2J`, "gen_ai.output.messages": "world"})
}

func TestInferFailures(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		errType string
		event   string
		sev     log.Severity
		extra   string
	}{
		{"rejected", context.Background(), Reject("input longer than 4096 tokens"), "rejected", EventInferenceRejected, log.SeverityWarn, ""},
		{"failed", context.Background(), errors.New("mlx: shape mismatch"), "*errors.errorString", EventInferenceFailed, log.SeverityWarn, ""},
		{"canceled", canceled, context.Canceled, "context_canceled", EventInferenceFailed, log.SeverityWarn, ""},
		{"out of memory", context.Background(), errors.Join(ErrResourceExhausted, errors.New("[metal] out of memory")), "resource_exhausted", EventInferenceFailed, log.SeverityWarn, EventResourceExhausted},
		{"timeout", context.Background(), context.DeadlineExceeded, "timeout", EventInferenceFailed, log.SeverityWarn, EventResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := Infer(tt.ctx, h.in, Request{Model: "m"}, func(ctx context.Context) (int, Response, error) { return 0, Response{}, tt.err })
			if !errors.Is(err, tt.err) && err != tt.err {
				t.Fatalf("error not passed through: %v", err)
			}
			s := h.onlySpan(t)
			if s.Name() != "predict m" || s.Status().Code != codes.Error {
				t.Fatalf("span %q status %v", s.Name(), s.Status())
			}
			wantAttrs(t, "span", s.Attributes(), map[string]any{"error.type": tt.errType})
			ev := h.event(t, tt.event)
			if ev.Severity != tt.sev {
				t.Errorf("severity %v", ev.Severity)
			}
			sameTrace(t, ev, s)
			if tt.extra != "" {
				if ev := h.event(t, tt.extra); ev.Severity != log.SeverityError {
					t.Errorf("%s severity %v", tt.extra, ev.Severity)
				}
			}
			dur := h.metrics(t)["gen_ai.client.operation.duration"].Data.(metricdata.Histogram[float64])
			if et, _ := dur.DataPoints[0].Attributes.Value("error.type"); et.AsString() != tt.errType {
				t.Errorf("metric error.type %q", et.AsString())
			}
		})
	}
}

func TestInferPanic(t *testing.T) {
	h := newHarness(t)
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("panic swallowed")
		}
		wantAttrs(t, "span", h.onlySpan(t).Attributes(), map[string]any{"error.type": "panic"})
	}()
	Infer(context.Background(), h.in, Request{Model: "m"}, func(context.Context) (int, Response, error) { panic(errors.New("kaboom")) })
}

func TestAuditRecordsOff(t *testing.T) {
	h := newHarness(t, WithAuditRecords(false))
	Infer(context.Background(), h.in, Request{Model: "m"}, func(context.Context) (int, Response, error) { return 0, Response{}, nil })
	Infer(context.Background(), h.in, Request{Model: "m"}, func(context.Context) (int, Response, error) { return 0, Response{}, errors.New("x") })
	evs := h.events()
	if len(evs) != 1 || evs[0].EventName != EventInferenceFailed {
		t.Fatalf("events %+v", evs)
	}
}

func TestHostileStringsAreSanitized(t *testing.T) {
	h := newHarness(t, WithMaxAttributeLength(64))
	hostile := "tiny\r\nINFO forged line\x1b[31m\u202Egnp.exe" + strings.Repeat("A", 500)
	Infer(context.Background(), h.in, Request{Model: hostile, RequestID: "id\x00x", ClientAddress: "\u2066evil"}, func(context.Context) (int, Response, error) {
		return 0, Response{}, errors.New("bad input: \x1b]0;pwned\x07")
	})
	s := h.onlySpan(t)
	check := func(where, v string) {
		if strings.ContainsAny(v, "\r\n\x00\x1b\x07\u202e\u2066") {
			t.Errorf("%s holds raw control characters: %q", where, v)
		}
		if len(v) > 64+40 {
			t.Errorf("%s is %d bytes, over the bound", where, len(v))
		}
	}
	check("span name", s.Name())
	check("status", s.Status().Description)
	for _, kv := range s.Attributes() {
		if kv.Value.Type() == attribute.STRING {
			check(string(kv.Key), kv.Value.AsString())
		}
	}
	ev := h.event(t, EventInferenceFailed)
	check("event body", ev.Body.AsString())
	if !strings.Contains(s.Name(), "…[truncated") {
		t.Errorf("no truncation marker in %q", s.Name())
	}
}

func TestModelNameCardinalityIsBoundedInMetrics(t *testing.T) {
	h := newHarness(t, WithMaxModels(3))
	for i := range 10 {
		Infer(context.Background(), h.in, Request{Model: "m" + string(rune('a'+i))}, func(context.Context) (int, Response, error) { return 0, Response{}, nil })
	}
	dur := h.metrics(t)["gen_ai.client.operation.duration"].Data.(metricdata.Histogram[float64])
	models := map[string]uint64{}
	for _, dp := range dur.DataPoints {
		v, _ := dp.Attributes.Value("gen_ai.request.model")
		models[v.AsString()] += dp.Count
	}
	if len(models) != 4 || models["_OTHER"] != 7 {
		t.Fatalf("model series %v, want 3 names and _OTHER=7", models)
	}
	if n := len(h.spans.Ended()); n != 10 || h.spans.Ended()[9].Name() != "predict mj" {
		t.Fatalf("spans keep the real name: %d, last %q", n, h.spans.Ended()[9].Name())
	}
}

func TestStreamingInference(t *testing.T) {
	h := newHarness(t)
	ctx, inf := h.in.StartInference(context.Background(), Request{Operation: OperationChat, Model: "m", Remote: true, ServerAddress: "127.0.0.1", ServerPort: 8080})
	if !trace.SpanFromContext(ctx).IsRecording() {
		t.Fatal("context lacks the span")
	}
	inf.FirstToken()
	inf.SetResponse(Response{OutputTokens: 3, UsageEstimated: true})
	inf.SetAttributes(KeyModelSwitch.Bool(true))
	inf.End(nil)
	inf.End(errors.New("late")) // ignored
	s := h.onlySpan(t)
	if s.SpanKind() != trace.SpanKindClient {
		t.Fatalf("kind %v", s.SpanKind())
	}
	m := attrMap(s.Attributes())
	if m["gen_ai.response.time_to_first_chunk"].AsFloat64() <= 0 || !m["mlx.usage.estimated"].AsBool() || !m["mlx.model.switch"].AsBool() || m["server.port"].AsInt64() != 8080 {
		t.Fatalf("attrs %v", m)
	}
	if _, ok := m["error.type"]; ok {
		t.Fatal("second End changed the outcome")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := New(WithIdentityKey([]byte("short"))); err == nil {
		t.Error("short identity key accepted")
	}
	if _, err := New(WithPolicy(&Policy{Mode: "block"})); err == nil {
		t.Error("invalid policy accepted")
	}
}

func TestPseudonymsDependOnKey(t *testing.T) {
	a, _ := New(WithIdentityKey([]byte("key-one-key-one-key-one")))
	b, _ := New(WithIdentityKey([]byte("key-two-key-two-key-two")))
	c, _ := New() // random key
	if first, again := a.Pseudonym("bob"), a.Pseudonym("bob"); first != again {
		t.Fatal("pseudonym not stable")
	}
	if a.Pseudonym("bob") == b.Pseudonym("bob") || a.Pseudonym("bob") == c.Pseudonym("bob") || a.Pseudonym("bob") == a.Pseudonym("alice") {
		t.Fatal("pseudonyms collide across keys or identities")
	}
}

func TestNilInstrumenterUsesGlobals(t *testing.T) {
	out, err := Infer(context.Background(), nil, Request{Model: "m"}, func(context.Context) (int, Response, error) { return 7, Response{}, nil })
	if out != 7 || err != nil {
		t.Fatal(out, err)
	}
}

func TestNoopProvidersOnlyRunTheFunction(t *testing.T) {
	in, err := New(WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()), WithLoggerProvider(lognoop.NewLoggerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{2}}))
	boom := errors.New("boom")
	out, err := Infer(parent, in, Request{Model: "m"}, func(ctx context.Context) (int, Response, error) {
		if trace.SpanContextFromContext(ctx).TraceID() != [16]byte{1} {
			t.Error("function lost the caller's trace context")
		}
		return 42, Response{}, boom
	})
	if out != 42 || err != boom {
		t.Fatalf("got %v %v", out, err)
	}
	defer func() {
		if recover() != "p" {
			t.Fatal("panic not propagated")
		}
	}()
	Infer(parent, in, Request{Model: "m"}, func(context.Context) (int, Response, error) { panic("p") })
}
