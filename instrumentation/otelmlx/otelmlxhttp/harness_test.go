package otelmlxhttp

import (
	"net/http"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log/logtest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// harness is a Transport wired to in-memory recorders of all three signals.
type harness struct {
	in     *otelmlx.Instrumenter
	tr     *Transport
	spans  *tracetest.SpanRecorder
	logs   *logtest.Recorder
	reader *sdkmetric.ManualReader
	sent   *headerRecorder
}

// headerRecorder is the base transport: it keeps the headers of what went on the wire.
type headerRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	got  []http.Header
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.got = append(h.got, r.Header.Clone())
	h.mu.Unlock()
	return h.base.RoundTrip(r)
}

func newHarness(t *testing.T, base http.RoundTripper, opts ...Option) *harness {
	t.Helper()
	if base == nil {
		base = http.DefaultTransport
	}
	h := &harness{spans: tracetest.NewSpanRecorder(), logs: logtest.NewRecorder(), reader: sdkmetric.NewManualReader(),
		sent: &headerRecorder{base: base}}
	in, err := otelmlx.New(
		otelmlx.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))),
		otelmlx.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))),
		otelmlx.WithLoggerProvider(h.logs),
	)
	if err != nil {
		t.Fatal(err)
	}
	h.in = in
	h.tr = NewTransport(h.sent, in, opts...)
	return h
}

func (h *harness) client() *http.Client { return &http.Client{Transport: h.tr} }

func (h *harness) ended() []sdktrace.ReadOnlySpan { return h.spans.Ended() }

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}
