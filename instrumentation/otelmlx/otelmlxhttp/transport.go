package otelmlxhttp

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// Defaults of the bounds.
const (
	DefaultMaxRequestBody  = 1 << 20 // bytes of a request body read to find the model
	DefaultMaxResponseBody = 4 << 20 // bytes of a non-streamed response kept to read its usage
	DefaultMaxLine         = 1 << 20 // bytes of one stream line; longer lines pass unparsed
	maxServers             = 1024    // servers whose last model is remembered for switches
	maxServerKey           = 512     // bytes of a scheme://host:port worth remembering
	maxServerBytes         = 1 << 20 // bytes of server names and models remembered
)

// Transport is an http.RoundTripper that records MLX inference calls. Create it with
// NewTransport; it is safe for concurrent use.
type Transport struct {
	base    http.RoundTripper
	in      *otelmlx.Instrumenter
	prop    propagation.TextMapPropagator
	maxReq  int64
	maxResp int
	maxLine int
	strict  bool

	mu        sync.Mutex
	last      map[string]string // server → model it served last (model sanitized, so bounded)
	lastBytes int
}

// Option configures a Transport.
type Option func(*Transport)

// WithPropagator sets the propagator that injects the trace context (the global one by
// default, falling back to W3C trace context when the global one is a no-op).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(t *Transport) { t.prop = p }
}

// WithMaxRequestBody bounds the bytes of a request body read to find the model, max tokens and
// stream flag. A larger body is still sent whole; only its fields go unrecorded.
func WithMaxRequestBody(n int64) Option {
	return func(t *Transport) {
		if n > 0 {
			t.maxReq = n
		}
	}
}

// WithMaxResponseBody bounds the bytes of a non-streamed response kept to read usage.
func WithMaxResponseBody(n int) Option {
	return func(t *Transport) {
		if n > 0 {
			t.maxResp = n
		}
	}
}

// WithMaxLine bounds one line of a stream; longer lines pass through unparsed.
func WithMaxLine(n int) Option {
	return func(t *Transport) {
		if n > 0 {
			t.maxLine = n
		}
	}
}

// WithStrictStreamEnd(true) makes a reader get io.ErrUnexpectedEOF instead of io.EOF from a
// stream that ends without its API's terminator ([DONE] for chat and completions, a terminal
// event for the Responses API, done:true for Ollama). Off by default: the transport never
// changes what the client receives, and the span records the truncation either way
// (error.type=stream_truncated).
func WithStrictStreamEnd(on bool) Option {
	return func(t *Transport) { t.strict = on }
}

// NewTransport returns a Transport that sends requests through base (http.DefaultTransport
// when nil) and records them with in (one with the global providers when nil).
func NewTransport(base http.RoundTripper, in *otelmlx.Instrumenter, opts ...Option) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	if in == nil {
		in, _ = otelmlx.New() // cannot fail without options
	}
	t := &Transport{base: base, in: in, maxReq: DefaultMaxRequestBody, maxResp: DefaultMaxResponseBody,
		maxLine: DefaultMaxLine, last: map[string]string{}}
	for _, o := range opts {
		o(t)
	}
	if t.prop == nil {
		t.prop = otel.GetTextMapPropagator()
		if len(t.prop.Fields()) == 0 {
			t.prop = propagation.TraceContext{}
		}
	}
	return t
}

// StatusError is the span error of a response with an HTTP error status.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("model server answered %d %s", e.Code, http.StatusText(e.Code))
}

// ErrorType makes error.type the status code, as the HTTP semantic conventions do.
func (e *StatusError) ErrorType() string { return strconv.Itoa(e.Code) }

// replayBody is a request body whose first bytes were read to find the model.
type replayBody struct {
	io.Reader
	io.Closer
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ep, ok := classify(req.URL.Path)
	if !ok || req.Method != http.MethodPost {
		r2 := req.Clone(req.Context())
		t.prop.Inject(req.Context(), propagation.HeaderCarrier(r2.Header))
		return t.base.RoundTrip(r2)
	}

	var head []byte
	complete := true
	body := req.Body
	if body != nil && body != http.NoBody {
		var err error
		head, err = t.readHead(req)
		if err != nil {
			body.Close() // a RoundTripper closes the body even when it fails
			return nil, fmt.Errorf("otelmlxhttp: reading the request body: %w", err)
		}
		complete = int64(len(head)) <= t.maxReq
	}
	var info requestInfo
	if complete {
		info = parseRequest(head, ep)
	}
	model := ""
	if info.Model != "" {
		model = t.in.Sanitize(info.Model)
	}
	inputSize := req.ContentLength
	if inputSize <= 0 && complete {
		inputSize = int64(len(head))
	}
	host, port := serverOf(req)
	ctx, inf := t.in.StartInference(req.Context(), otelmlx.Request{
		Operation:     ep.operation,
		Model:         model,
		MaxTokens:     info.MaxTokens,
		InputSize:     inputSize,
		Remote:        true,
		ServerAddress: t.in.Sanitize(host),
		ServerPort:    port,
	})
	if prev, switched := t.switched(req.URL.Scheme+"://"+req.URL.Host, model); switched {
		inf.SetAttributes(otelmlx.KeyModelSwitch.Bool(true), otelmlx.KeyModelPrevious.String(prev))
	}

	r2 := req.Clone(ctx)
	if body != nil && body != http.NoBody {
		r2.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), body), Closer: body}
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(r2.Header))

	resp, err := t.base.RoundTrip(r2)
	if err != nil {
		inf.End(err)
		return nil, err
	}
	inf.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		inf.End(&StatusError{Code: resp.StatusCode})
		return resp, nil
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		inf.End(nil)
		return resp, nil
	}
	mode := modeJSON
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "text/event-stream":
		mode = modeSSE
	case "application/x-ndjson", "application/jsonl", "application/ndjson":
		mode = modeNDJSON
	}
	resp.Body = &observedBody{rc: resp.Body, inf: inf, mode: mode, stream: mode != modeJSON,
		strict: t.strict, san: t.in.Sanitize, maxDoc: t.maxResp, maxLine: t.maxLine}
	return resp, nil
}

// readHead reads the first maxReq+1 bytes of the request body. A body in memory (GetBody is
// set) is read directly; any other (a pipe still being written, a slow upload) is read while
// watching the request's context, so a deadline or a cancel ends the call instead of waiting
// for the writer. The caller closes the body on error, which also ends the reading goroutine.
func (t *Transport) readHead(req *http.Request) ([]byte, error) {
	lr := io.LimitReader(req.Body, t.maxReq+1)
	if req.GetBody != nil {
		return io.ReadAll(lr)
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(lr)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

// switched records model as the last one served by server and reports whether it differs from
// the one before.
func (t *Transport) switched(server, model string) (prev string, ok bool) {
	if model == "" {
		return "", false
	}
	if len(server) > maxServerKey {
		return "", false // not remembered: the memory is bounded in bytes as well as entries
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, seen := t.last[server]
	if !seen && (len(t.last) >= maxServers || t.lastBytes+len(server)+len(model) > maxServerBytes) {
		clear(t.last) // bounded: forgetting costs at most one missed switch per server
		t.lastBytes = 0
	}
	t.lastBytes += len(model) - len(prev)
	if !seen {
		t.lastBytes += len(server)
	}
	t.last[server] = model
	return prev, seen && prev != model
}

func serverOf(req *http.Request) (string, int) {
	host := req.URL.Hostname()
	p := req.URL.Port()
	if p == "" {
		if req.URL.Scheme == "https" {
			return host, 443
		}
		return host, 80
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return host, 0
	}
	return host, port
}
