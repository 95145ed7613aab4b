package otelmlxhttp

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/jsonexact"
)

// endpoint is what a request path says about the call.
type endpoint struct {
	operation string
	ollama    bool // Ollama's native API: NDJSON streams ending with done:true, stream on by default
	responses bool // OpenAI's Responses API: typed events ending with response.completed and kin
}

// classify maps a request path to an inference operation; ok is false for paths that are not
// inferences (model listings, health), which pass through with only the trace context added.
func classify(path string) (endpoint, bool) {
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return endpoint{operation: otelmlx.OperationChat}, true
	case strings.HasSuffix(path, "/completions"):
		return endpoint{operation: otelmlx.OperationTextCompletion}, true
	case strings.HasSuffix(path, "/embeddings"):
		return endpoint{operation: otelmlx.OperationEmbeddings}, true
	case strings.HasSuffix(path, "/responses"):
		return endpoint{operation: otelmlx.OperationChat, responses: true}, true
	case strings.HasSuffix(path, "/api/chat"):
		return endpoint{operation: otelmlx.OperationChat, ollama: true}, true
	case strings.HasSuffix(path, "/api/generate"):
		return endpoint{operation: otelmlx.OperationGenerate, ollama: true}, true
	case strings.HasSuffix(path, "/api/embed"), strings.HasSuffix(path, "/api/embeddings"):
		return endpoint{operation: otelmlx.OperationEmbeddings, ollama: true}, true
	}
	return endpoint{}, false
}

// requestInfo is what the transport reads from a request body.
type requestInfo struct {
	Model     string
	MaxTokens int
	Stream    bool
}

// requestDoc is read with exact keys (see jsonexact): the server reads "model", and a
// "MODEL" beside it must not change what is recorded.
type requestDoc struct {
	Model               string
	MaxTokens           *int64
	MaxCompletionTokens *int64
	MaxOutputTokens     *int64
	Stream              *bool
	Options             *optionsDoc
}

type optionsDoc struct{ NumPredict *int64 }

func (d *requestDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "model":
			return json.Unmarshal(v, &d.Model)
		case "max_tokens":
			return json.Unmarshal(v, &d.MaxTokens)
		case "max_completion_tokens":
			return json.Unmarshal(v, &d.MaxCompletionTokens)
		case "max_output_tokens":
			return json.Unmarshal(v, &d.MaxOutputTokens)
		case "stream":
			return json.Unmarshal(v, &d.Stream)
		case "options":
			return json.Unmarshal(v, &d.Options)
		}
		return nil
	})
}

func (d *optionsDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		if k == "num_predict" {
			return json.Unmarshal(v, &d.NumPredict)
		}
		return nil
	})
}

// maxTokensBound keeps a hostile max_tokens from overflowing int on 32-bit platforms.
const maxTokensBound = 1 << 30

// parseRequest reads the fields the span needs from a JSON request body. A body that is not
// JSON gives the zero info: the request still goes to the server, which will refuse it.
func parseRequest(body []byte, ep endpoint) requestInfo {
	var d requestDoc
	if len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &d) != nil {
		return requestInfo{Stream: false}
	}
	info := requestInfo{Model: d.Model}
	for _, v := range []*int64{d.MaxTokens, d.MaxCompletionTokens, d.MaxOutputTokens} {
		if v != nil && *v > 0 {
			info.MaxTokens = int(min(*v, maxTokensBound))
			break
		}
	}
	if info.MaxTokens == 0 && d.Options != nil && d.Options.NumPredict != nil && *d.Options.NumPredict > 0 {
		info.MaxTokens = int(min(*d.Options.NumPredict, maxTokensBound))
	}
	switch {
	case d.Stream != nil:
		info.Stream = *d.Stream
	case ep.ollama && ep.operation != otelmlx.OperationEmbeddings:
		info.Stream = true // Ollama streams unless told not to
	}
	return info
}

// responseDoc covers a non-streamed response and one chunk of a stream, for the OpenAI shapes
// (chat, completions, embeddings, Responses API events) and Ollama's. Keys match exactly.
type responseDoc struct {
	ID      string
	Model   string
	Choices []choiceDoc
	Usage   *usageDoc
	// Ollama
	Done            *bool
	DoneReason      string
	PromptEvalCount int64
	EvalCount       int64
	Response        string
	Message         *messageDoc
	// Responses API events: the event type, a text delta, and the response object that the
	// response.created / .completed / .incomplete / .failed events carry.
	Type      string
	TextDelta string
	Resp      *responseObj
	// Some servers (and OpenAI's error shape) send an error object inside a 200 stream.
	Error json.RawMessage
}

type choiceDoc struct {
	FinishReason *string
	Text         string
	Delta        *deltaDoc
}

type deltaDoc struct {
	Content, ReasoningContent, Reasoning string
	ToolCalls                            json.RawMessage
}

type usageDoc struct {
	PromptTokens, CompletionTokens, InputTokens, OutputTokens int64
}

type messageDoc struct{ Content, Thinking string }

// responseObj is the response object of the Responses API.
type responseObj struct {
	ID, Model, Status string
	Usage             *usageDoc
	IncompleteReason  string
	Error             json.RawMessage
}

func (d *responseDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "id":
			return json.Unmarshal(v, &d.ID)
		case "model":
			return json.Unmarshal(v, &d.Model)
		case "choices":
			return json.Unmarshal(v, &d.Choices)
		case "usage":
			return json.Unmarshal(v, &d.Usage)
		case "done":
			return json.Unmarshal(v, &d.Done)
		case "done_reason":
			return json.Unmarshal(v, &d.DoneReason)
		case "prompt_eval_count":
			return json.Unmarshal(v, &d.PromptEvalCount)
		case "eval_count":
			return json.Unmarshal(v, &d.EvalCount)
		case "response":
			if len(v) > 0 && v[0] == '{' {
				return json.Unmarshal(v, &d.Resp) // Responses API event
			}
			return json.Unmarshal(v, &d.Response) // Ollama's generated text
		case "message":
			return json.Unmarshal(v, &d.Message)
		case "type":
			return json.Unmarshal(v, &d.Type)
		case "delta":
			if len(v) > 0 && v[0] == '"' {
				return json.Unmarshal(v, &d.TextDelta)
			}
		case "error":
			d.Error = v
		}
		return nil
	})
}

func (c *choiceDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "finish_reason":
			return json.Unmarshal(v, &c.FinishReason)
		case "text":
			return json.Unmarshal(v, &c.Text)
		case "delta":
			return json.Unmarshal(v, &c.Delta)
		}
		return nil
	})
}

func (d *deltaDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "content":
			return json.Unmarshal(v, &d.Content)
		case "reasoning_content":
			return json.Unmarshal(v, &d.ReasoningContent)
		case "reasoning":
			return json.Unmarshal(v, &d.Reasoning)
		case "tool_calls":
			d.ToolCalls = v
		}
		return nil
	})
}

func (u *usageDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "prompt_tokens":
			return json.Unmarshal(v, &u.PromptTokens)
		case "completion_tokens":
			return json.Unmarshal(v, &u.CompletionTokens)
		case "input_tokens":
			return json.Unmarshal(v, &u.InputTokens)
		case "output_tokens":
			return json.Unmarshal(v, &u.OutputTokens)
		}
		return nil
	})
}

func (m *messageDoc) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "content":
			return json.Unmarshal(v, &m.Content)
		case "thinking":
			return json.Unmarshal(v, &m.Thinking)
		}
		return nil
	})
}

func (r *responseObj) UnmarshalJSON(b []byte) error {
	return jsonexact.Members(b, func(k string, v json.RawMessage) error {
		switch k {
		case "id":
			return json.Unmarshal(v, &r.ID)
		case "model":
			return json.Unmarshal(v, &r.Model)
		case "status":
			return json.Unmarshal(v, &r.Status)
		case "usage":
			return json.Unmarshal(v, &r.Usage)
		case "incomplete_details":
			return jsonexact.Members(v, func(k string, v json.RawMessage) error {
				if k == "reason" {
					return json.Unmarshal(v, &r.IncompleteReason)
				}
				return nil
			})
		case "error":
			r.Error = v
		}
		return nil
	})
}

// tokens says whether a chunk carries generated output.
func (d *responseDoc) tokens() bool {
	for _, c := range d.Choices {
		if c.Text != "" {
			return true
		}
		if c.Delta != nil && (c.Delta.Content != "" || c.Delta.ReasoningContent != "" || c.Delta.Reasoning != "" || len(c.Delta.ToolCalls) > 2) {
			return true
		}
	}
	if d.TextDelta != "" && strings.HasSuffix(d.Type, ".delta") {
		return true // Responses API: output_text, refusal, reasoning and tool argument deltas
	}
	return d.Response != "" || (d.Message != nil && (d.Message.Content != "" || d.Message.Thinking != ""))
}

// maxReasons bounds the finish reasons kept per response (one per choice; n can be large).
const maxReasons = otelmlx.MaxFinishReasons

// accumulator folds a response, or the chunks of a stream, into an otelmlx.Response.
type accumulator struct {
	resp      otelmlx.Response
	usage     bool // the server reported usage
	chunks    int64
	finished  bool // the API's terminator was seen ([DONE], done:true, a terminal Responses event)
	sawTokens bool
	failure   string // an error object inside the body
}

func (a *accumulator) add(d *responseDoc, sanitize func(string) string) {
	if d.ID != "" && a.resp.ID == "" {
		a.resp.ID = sanitize(d.ID)
	}
	if d.Model != "" && a.resp.Model == "" {
		a.resp.Model = sanitize(d.Model)
	}
	for _, c := range d.Choices {
		if c.FinishReason != nil && *c.FinishReason != "" {
			if len(a.resp.FinishReasons) < maxReasons {
				a.resp.FinishReasons = append(a.resp.FinishReasons, sanitize(*c.FinishReason))
			}
		}
	}
	if u := d.Usage; u != nil {
		a.usage = true
		a.resp.InputTokens = max(u.PromptTokens, u.InputTokens)
		a.resp.OutputTokens = max(u.CompletionTokens, u.OutputTokens)
	}
	if d.Done != nil && *d.Done {
		a.finished = true
		if d.DoneReason != "" && len(a.resp.FinishReasons) < maxReasons {
			a.resp.FinishReasons = append(a.resp.FinishReasons, sanitize(d.DoneReason))
		}
		if d.PromptEvalCount > 0 || d.EvalCount > 0 {
			a.usage = true
			a.resp.InputTokens, a.resp.OutputTokens = d.PromptEvalCount, d.EvalCount
		}
	}
	if len(d.Error) > 0 && string(d.Error) != "null" && a.failure == "" {
		a.failure = mlxconv.ErrorTypeServerError
	}
	if r := d.Resp; r != nil {
		a.addResponse(d.Type, r, sanitize)
	}
	if d.Type == "error" {
		// A Responses API error event ends the stream.
		a.finished = true
		a.failure = "server_error"
	}
	if d.tokens() {
		a.chunks++
		a.sawTokens = true
	}
}

// addResponse folds the response object of a Responses API event. Its terminal events
// (response.completed, response.incomplete, response.failed) end the stream; there is no
// [DONE] and no finish_reason in that API.
func (a *accumulator) addResponse(typ string, r *responseObj, sanitize func(string) string) {
	if r.ID != "" && a.resp.ID == "" {
		a.resp.ID = sanitize(r.ID)
	}
	if r.Model != "" && a.resp.Model == "" {
		a.resp.Model = sanitize(r.Model)
	}
	if u := r.Usage; u != nil {
		a.usage = true
		a.resp.InputTokens, a.resp.OutputTokens = u.InputTokens, u.OutputTokens
	}
	switch typ {
	case "response.completed":
		a.finished = true
		a.resp.FinishReasons = append(a.resp.FinishReasons[:0], "stop")
	case "response.incomplete":
		a.finished = true
		reason := "incomplete"
		if r.IncompleteReason != "" {
			reason = sanitize(r.IncompleteReason)
		}
		a.resp.FinishReasons = append(a.resp.FinishReasons[:0], reason)
	case "response.failed":
		a.finished = true
		a.failure = "server_error"
	}
}

// result returns the response, with the output tokens counted from chunks when the server
// sent no usage.
func (a *accumulator) result(stream bool) otelmlx.Response {
	r := a.resp
	if stream && !a.usage && a.chunks > 0 {
		r.OutputTokens = a.chunks
		r.UsageEstimated = true
	}
	return r
}
