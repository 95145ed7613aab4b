package otelmlxhttp

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// endpoint is what a request path says about the call.
type endpoint struct {
	operation string
	ollama    bool // Ollama's native API: NDJSON streams, stream on by default
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
		return endpoint{operation: otelmlx.OperationChat}, true
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

type requestDoc struct {
	Model               string `json:"model"`
	MaxTokens           *int64 `json:"max_tokens"`
	MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	MaxOutputTokens     *int64 `json:"max_output_tokens"`
	Stream              *bool  `json:"stream"`
	Options             *struct {
		NumPredict *int64 `json:"num_predict"`
	} `json:"options"`
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
// (chat, completions, embeddings) and Ollama's.
type responseDoc struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		FinishReason *string `json:"finish_reason"`
		Text         string  `json:"text"`
		Delta        *struct {
			Content          string          `json:"content"`
			ReasoningContent string          `json:"reasoning_content"`
			Reasoning        string          `json:"reasoning"`
			ToolCalls        json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		InputTokens      int64 `json:"input_tokens"`
		OutputTokens     int64 `json:"output_tokens"`
	} `json:"usage"`
	// Ollama
	Done            *bool  `json:"done"`
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int64  `json:"prompt_eval_count"`
	EvalCount       int64  `json:"eval_count"`
	Response        string `json:"response"`
	Message         *struct {
		Content  string `json:"content"`
		Thinking string `json:"thinking"`
	} `json:"message"`
	// Some servers (and OpenAI's error shape) send an error object inside a 200 stream.
	Error json.RawMessage `json:"error"`
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
	return d.Response != "" || (d.Message != nil && (d.Message.Content != "" || d.Message.Thinking != ""))
}

// maxReasons bounds the finish reasons kept per response (one per choice; n can be large).
const maxReasons = 16

// accumulator folds a response, or the chunks of a stream, into an otelmlx.Response.
type accumulator struct {
	resp      otelmlx.Response
	usage     bool // the server reported usage
	chunks    int64
	finished  bool // a finish reason, [DONE] or done:true was seen
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
			a.finished = true
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
	if d.tokens() {
		a.chunks++
		a.sawTokens = true
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
