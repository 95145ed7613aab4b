package otelmlxhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/otelmlxhttp"
)

// NewTransport wraps the transport of any HTTP client of an OpenAI-compatible MLX server
// (openai-go, Ollama's client, a plain http.Client): each request becomes an inference span
// with the model and usage read from the JSON the server returns.
func ExampleNewTransport() {
	// A stand-in for mlx_lm.server answering one chat completion.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"chatcmpl-1","model":"tiny-lm","choices":[{"index":0,"finish_reason":"stop",`+
			`"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}`)
	}))
	defer srv.Close()

	spans := tracetest.NewSpanRecorder()
	in, err := otelmlx.New(otelmlx.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: otelmlxhttp.NewTransport(nil, in)}
	resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"tiny-lm","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	s := spans.Ended()[0]
	attrs := map[string]string{}
	for _, kv := range s.Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	fmt.Println(s.Name(), s.SpanKind())
	fmt.Println(attrs[mlxconv.AttrGenAIResponseID], attrs[mlxconv.AttrGenAIUsageInputTokens], attrs[mlxconv.AttrGenAIUsageOutputTokens], attrs[mlxconv.AttrGenAIResponseFinishReasons])
	// Output:
	// chat tiny-lm client
	// chatcmpl-1 5 1 ["stop"]
}
