package otelmlxhttp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// These tests check properties of the transport itself (no buffering, bounds, request
// handling) against plain HTTP handlers; the behaviour against MLX is tested against a real
// mlx_lm.server in the test/mlxserver module.

// The first event of a stream reaches the caller while the server is still holding the rest:
// nothing is buffered on the way.
func TestStreamIsNotBuffered(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	resp, err := h.client().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true,"max_tokens":5}`))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() {
		l, _ := br.ReadString('\n')
		first <- l
	}()
	select {
	case l := <-first:
		if !strings.Contains(l, `"hi"`) {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("the first event did not arrive before the server finished: the stream is buffered")
	}
	if len(h.ended()) != 0 {
		t.Fatal("span ended before the stream did")
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !bytes.Contains(rest, []byte("[DONE]")) {
		t.Fatalf("rest %q", rest)
	}
	spans := h.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	a := attrs(spans[0])
	if a["gen_ai.usage.output_tokens"].AsInt64() != 1 || !a["mlx.usage.estimated"].AsBool() {
		t.Fatalf("chunk count: %v", spans[0].Attributes())
	}
	if a["gen_ai.response.time_to_first_chunk"].AsFloat64() <= 0 {
		t.Fatalf("no time to first token: %v", spans[0].Attributes())
	}
}

// The request body reaches the server byte for byte, whether or not it fits the read bound,
// and a body past the bound leaves the model unrecorded instead of being read whole.
func TestRequestBodyRestoredAndBounded(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","model":"m","choices":[{"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`)
	}))
	defer srv.Close()
	h := newHarness(t, nil, WithMaxRequestBody(64))
	small := `{"model":"m\u001b[31m","max_tokens":7}`
	big := `{"model":"big","max_tokens":7,"pad":"` + strings.Repeat("x", 1000) + `"}`
	for _, body := range []string{small, big} {
		resp, err := h.client().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Fatalf("server got %d bytes, sent %d", len(got), len(body))
		}
	}
	spans := h.ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	a := attrs(spans[0])
	if m := a["gen_ai.request.model"].AsString(); strings.ContainsRune(m, 0x1b) || !strings.HasPrefix(m, "m") {
		t.Fatalf("model name not sanitized: %q", m)
	}
	if a["gen_ai.request.max_tokens"].AsInt64() != 7 || a["gen_ai.usage.input_tokens"].AsInt64() != 3 || a["gen_ai.usage.output_tokens"].AsInt64() != 2 {
		t.Fatalf("attrs %v", spans[0].Attributes())
	}
	if _, ok := attrs(spans[1])["gen_ai.request.max_tokens"]; ok {
		t.Fatal("fields read from a body past the bound")
	}
}

// Ollama's native API streams NDJSON; usage comes from the final "done" object.
func TestOllamaNDJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, `{"model":"llama3.2","message":{"role":"assistant","content":"He"},"done":false}`+"\n")
		fmt.Fprint(w, `{"model":"llama3.2","message":{"role":"assistant","content":"llo"},"done":false}`+"\n")
		fmt.Fprint(w, `{"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":11,"eval_count":2}`+"\n")
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	resp, err := h.client().Post(srv.URL+"/api/chat", "application/json", strings.NewReader(`{"model":"llama3.2","messages":[],"options":{"num_predict":9}}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s := h.ended()[0]
	a := attrs(s)
	if a["gen_ai.usage.input_tokens"].AsInt64() != 11 || a["gen_ai.usage.output_tokens"].AsInt64() != 2 ||
		a["gen_ai.request.max_tokens"].AsInt64() != 9 || a["gen_ai.response.finish_reasons"].AsStringSlice()[0] != "stop" {
		t.Fatalf("attrs %v", s.Attributes())
	}
	if s.Status().Code == codes.Error {
		t.Fatal("completed stream marked as error")
	}
}

// Paths that are not inferences pass through with the trace context and no span.
func TestNonInferencePassesThrough(t *testing.T) {
	var tp string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp = r.Header.Get("traceparent")
		fmt.Fprint(w, `{"data":[]}`)
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled}))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/models", nil)
	resp, err := h.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(tp, "00-01000000000000000000000000000000-0200000000000000-") {
		t.Fatalf("traceparent %q", tp)
	}
	if req.Header.Get("traceparent") != "" {
		t.Fatal("the caller's request was modified")
	}
	if n := len(h.ended()); n != 0 {
		t.Fatalf("%d spans for a model listing", n)
	}
}

// A stream line longer than the bound passes through whole but is not parsed.
func TestLongLinesPassUnparsed(t *testing.T) {
	long := `data: {"id":"x","choices":[{"delta":{"content":"` + strings.Repeat("a", 5000) + `"}}]}` + "\n\n"
	stream := long + "data: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, stream)
	}))
	defer srv.Close()
	h := newHarness(t, nil, WithMaxLine(1024))
	resp, err := h.client().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != stream {
		t.Fatal("stream altered")
	}
	if n := attrs(h.ended()[0])["gen_ai.usage.output_tokens"].AsInt64(); n != 1 {
		t.Fatalf("output tokens %d, want the 1 parsed chunk", n)
	}
}
