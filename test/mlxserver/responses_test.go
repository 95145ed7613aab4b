package mlxserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

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

// Issue 10 item 11: openai-go's Responses.NewStreaming reads a whole Responses API stream
// through otelmlxhttp without an error (it used to fail after three events with
// io.ErrUnexpectedEOF), and the span records a success with the usage of response.completed.
func TestResponsesAPIStreamWithOpenAIGo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, responsesStream("completed"))
	}))
	defer srv.Close()
	h := newHarness(t, nil)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithHTTPClient(h.client()), option.WithAPIKey("x"), option.WithMaxRetries(0))
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "tiny-lm", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n != 8 {
		t.Fatalf("openai-go read %d of 8 events, err %v", n, err)
	}
	stream.Close()
	spans := h.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, kv := range spans[0].Attributes() {
		if kv.Key == "error.type" {
			t.Fatalf("a complete Responses stream recorded as failed: %v", spans[0].Attributes())
		}
		if kv.Key == "gen_ai.usage.output_tokens" && kv.Value.AsInt64() != 2 {
			t.Fatalf("output tokens %v", kv.Value)
		}
	}
}
