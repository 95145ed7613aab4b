// Package otelmlxhttp instruments calls to OpenAI-compatible MLX model servers (mlx_lm.server,
// vllm-mlx, LM Studio, Ollama's /v1 and /api) from the client side, as an http.RoundTripper.
//
// Wrap the transport of any http.Client:
//
//	in, _ := otelmlx.New()
//	hc := &http.Client{Transport: otelmlxhttp.NewTransport(nil, in)}
//	client := openai.NewClient(option.WithBaseURL("http://127.0.0.1:8080/v1"), option.WithHTTPClient(hc))
//
// For each inference request (chat and text completions, the Responses API, embeddings,
// Ollama chat/generate/embed) the transport records the otel-mlx inference span (kind CLIENT), metrics and events:
// requested model and max tokens from the request body, response id and model, token usage
// and finish reasons from the response body, and the time to the first token of a stream. It
// injects the trace context (traceparent) into the request headers.
//
// Nothing is buffered on the way through: the request body is read up to a bound (1 MiB by
// default) to find the model, then handed to the base transport unchanged; the response body
// is observed as the caller reads it. A streamed response (server-sent events, or Ollama's
// newline-delimited JSON) is parsed line by line as its bytes pass, with a bounded line
// buffer. When a stream carries no usage, the content chunks are counted as output tokens and
// mlx.usage.estimated is set.
//
// Each API's stream has its own terminator: data: [DONE] for chat and text completions,
// a response.completed, response.incomplete or response.failed event (or an error event) for
// the Responses API (/v1/responses), "done": true for Ollama's native API. A stream that ends
// before it, as when the server dies, fails the span with error.type=stream_truncated. The
// reader gets exactly the bytes and the io.EOF the server's response gave: the transport never
// changes what the client receives, unless WithStrictStreamEnd(true) asks for
// io.ErrUnexpectedEOF on a truncated stream.
//
// JSON keys are matched exactly, as the server matches them ("MODEL" beside "model" does not
// change what is recorded), and reading the request body watches the request's context.
//
// A request for a model other than the one the same server served before is a model switch:
// the span gets mlx.model.switch=true and mlx.model.previous, and its duration is the cost of
// the switch (the server loads the model while answering it).
package otelmlxhttp
