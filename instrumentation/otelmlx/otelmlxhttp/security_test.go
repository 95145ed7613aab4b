package otelmlxhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

func otelmlxRequest() otelmlx.Request {
	return otelmlx.Request{Operation: otelmlx.OperationChat, Model: "m", Remote: true}
}

// responsesStream is a /v1/responses stream as the Responses API sends it: typed events, the
// last one response.completed (or .failed / .incomplete), no [DONE] and no finish_reason.
func responsesStream(final string) string {
	ev := func(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }
	resp := func(status, extra string) string {
		return `{"id":"resp_1","object":"response","created_at":1,"status":"` + status + `","model":"tiny-lm","output":[]` + extra + `}`
	}
	s := ev("response.created", `{"type":"response.created","sequence_number":0,"response":`+resp("in_progress", "")+`}`) +
		ev("response.in_progress", `{"type":"response.in_progress","sequence_number":1,"response":`+resp("in_progress", "")+`}`) +
		ev("response.output_item.added", `{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}`) +
		ev("response.content_part.added", `{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}`) +
		ev("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel"}`) +
		ev("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"lo"}`) +
		ev("response.output_text.done", `{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hello"}`)
	switch final {
	case "completed":
		s += ev("response.completed", `{"type":"response.completed","sequence_number":7,"response":`+resp("completed", `,"usage":{"input_tokens":11,"output_tokens":2,"total_tokens":13}`)+`}`)
	case "incomplete":
		s += ev("response.incomplete", `{"type":"response.incomplete","sequence_number":7,"response":`+resp("incomplete", `,"incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":11,"output_tokens":2,"total_tokens":13}`)+`}`)
	case "failed":
		s += ev("response.failed", `{"type":"response.failed","sequence_number":7,"response":`+resp("failed", `,"error":{"code":"server_error","message":"boom"}`)+`}`)
	}
	return s
}

func serveStream(t *testing.T, ct, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ct)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Issue 10 item 11: a Responses API stream ends with response.completed; the transport knows
// it, the client reads every byte and a clean EOF, and the span records a success with usage.
// (test/mlxserver reads the same stream with openai-go's Responses.NewStreaming.)
func TestResponsesAPIStream(t *testing.T) {
	body := responsesStream("completed")
	srv := serveStream(t, "text/event-stream", body)
	h := newHarness(t, nil)
	resp, err := h.client().Post(srv.URL+"/v1/responses", "application/json", strings.NewReader(`{"model":"tiny-lm","input":"hi","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != body {
		t.Fatalf("client read %d of %d bytes, err %v", len(b), len(body), err)
	}
	spans := h.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	a := attrs(spans[0])
	if _, failed := a["error.type"]; failed {
		t.Fatalf("a complete Responses stream recorded as failed: %v", spans[0].Attributes())
	}
	if a["gen_ai.usage.input_tokens"].AsInt64() != 11 || a["gen_ai.usage.output_tokens"].AsInt64() != 2 || a["gen_ai.response.id"].AsString() != "resp_1" {
		t.Fatalf("usage or id not read from response.completed: %v", spans[0].Attributes())
	}
	if a[mlxconv.AttrGenAIResponseTimeToFirstChunk].AsFloat64() <= 0 {
		t.Fatalf("no time to first chunk from output_text deltas: %v", spans[0].Attributes())
	}
}

// Each API's terminator decides completion, and the client always receives exactly what the
// server sent, with io.EOF at the end, complete or not (the span records a truncation).
func TestStreamTerminatorsPerAPI(t *testing.T) {
	chat := func(done bool) string {
		s := `data: {"id":"c1","model":"m","choices":[{"delta":{"content":"hi"}}]}` + "\n\n" +
			`data: {"id":"c1","choices":[{"delta":{},"finish_reason":"stop"}]}` + "\n\n"
		if done {
			s += "data: [DONE]\n\n"
		}
		return s
	}
	ollama := func(done bool) string {
		s := `{"model":"m","message":{"content":"hi"},"done":false}` + "\n"
		if done {
			s += `{"model":"m","done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":1}` + "\n"
		}
		return s
	}
	cases := []struct {
		name, path, ct, body, errType string
	}{
		{"responses completed", "/v1/responses", "text/event-stream", responsesStream("completed"), ""},
		{"responses incomplete", "/v1/responses", "text/event-stream", responsesStream("incomplete"), ""},
		{"responses failed", "/v1/responses", "text/event-stream", responsesStream("failed"), "server_error"},
		{"responses cut", "/v1/responses", "text/event-stream", responsesStream(""), "stream_truncated"},
		{"chat with [DONE]", "/v1/chat/completions", "text/event-stream", chat(true), ""},
		{"chat cut after finish_reason", "/v1/chat/completions", "text/event-stream", chat(false), "stream_truncated"},
		{"ollama done", "/api/chat", "application/x-ndjson", ollama(true), ""},
		{"ollama cut", "/api/chat", "application/x-ndjson", ollama(false), "stream_truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveStream(t, tc.ct, tc.body)
			h := newHarness(t, nil)
			resp, err := h.client().Post(srv.URL+tc.path, "application/json", strings.NewReader(`{"model":"m","stream":true}`))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != tc.body {
				t.Fatalf("client got %d bytes (err %v), server sent %d: what the client receives changed", len(b), err, len(tc.body))
			}
			a := attrs(h.ended()[0])
			if got := a["error.type"].AsString(); got != tc.errType {
				t.Fatalf("error.type %q, want %q", got, tc.errType)
			}
		})
	}
}

// Issue 10 item 15: reading the request body to find the model watches the request's context:
// a body that is still being written does not hold Do past its deadline.
func TestRequestBodyReadHonoursContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte(`{"model":"m",`)) // and nothing more
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions", pr)
	done := make(chan error, 1)
	go func() {
		resp, err := h.client().Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the deadline", err)
		}
	case <-time.After(5 * time.Second):
		pw.CloseWithError(errors.New("test over"))
		t.Fatal("Do hung past its deadline while the transport read the request body")
	}
}

// Issue 10 item 16: the line bound holds when a whole over-long line arrives in one Read.
func TestMaxLineHoldsForALineInOneRead(t *testing.T) {
	h := newHarness(t, nil)
	for _, mode := range []bodyMode{modeSSE, modeNDJSON} {
		_, inf := h.in.StartInference(context.Background(), otelmlxRequest())
		b := &observedBody{rc: io.NopCloser(strings.NewReader("")), inf: inf, mode: mode, stream: true, san: h.in.Sanitize, maxDoc: 1 << 20, maxLine: 64}
		line := `{"usage":{"prompt_tokens":7,"completion_tokens":9},"pad":"` + strings.Repeat("x", 200) + `"}`
		if mode == modeSSE {
			line = "data: " + line
		}
		b.observe([]byte(line + "\n"))
		if b.acc.usage {
			t.Fatalf("mode %d: a %d byte line was parsed despite WithMaxLine(64)", mode, len(line))
		}
		b.observe([]byte(line)) // and as the last line, without a newline
		b.endAtEOF()
		if b.acc.usage {
			t.Fatalf("mode %d: an over-long last line was parsed", mode)
		}
	}
}

// Issue 10 item 17: JSON keys match exactly, as the server matches them: a differently cased
// duplicate cannot change what is recorded.
func TestKeysMatchExactly(t *testing.T) {
	info := parseRequest([]byte(`{"model":"served","MODEL":"spoofed","Max_Tokens":999,"max_tokens":5,"STREAM":true}`), endpoint{operation: "chat"})
	if info.Model != "served" || info.MaxTokens != 5 || info.Stream {
		t.Fatalf("request read as %+v", info)
	}
	info = parseRequest([]byte(`{"MODEL":"spoofed"}`), endpoint{operation: "chat"})
	if info.Model != "" {
		t.Fatalf("model read from a differently cased key: %+v", info)
	}
	var d responseDoc
	if err := json.Unmarshal([]byte(`{"id":"r1","ID":"spoof","model":"served","Model":"spoofed","usage":{"prompt_tokens":3,"PROMPT_TOKENS":900},"USAGE":{"prompt_tokens":800}}`), &d); err != nil {
		t.Fatal(err)
	}
	var acc accumulator
	acc.add(&d, func(s string) string { return s })
	if acc.resp.ID != "r1" || acc.resp.Model != "served" || acc.resp.InputTokens != 3 {
		t.Fatalf("response read as %+v", acc.resp)
	}
}

// Issue 10 item 12: the transport's memory of the model each server served last is bounded in
// bytes, whatever the length of the server names and models.
func TestServerMemoryIsBoundedInBytes(t *testing.T) {
	h := newHarness(t, nil)
	for i := range 2048 {
		h.tr.switched(fmt.Sprintf("http://%s%d", strings.Repeat("h", 64<<10), i), strings.Repeat("m", 1024))
	}
	held := 0
	for k, v := range h.tr.last {
		held += len(k) + len(v)
	}
	if held > 2<<20 {
		t.Fatalf("switch memory holds %d MiB", held>>20)
	}
}
