package mlxserver

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log/logtest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/otelmlxhttp"
)

// harness is an otelmlxhttp.Transport wired to in-memory recorders of all three signals.
type harness struct {
	in     *otelmlx.Instrumenter
	tr     *otelmlxhttp.Transport
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

func (h *headerRecorder) headers() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.got...)
}

func newHarness(t *testing.T, base http.RoundTripper, opts ...otelmlxhttp.Option) *harness {
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
	h.tr = otelmlxhttp.NewTransport(h.sent, in, opts...)
	return h
}

func (h *harness) client() *http.Client { return &http.Client{Transport: h.tr} }

func (h *harness) ended() []sdktrace.ReadOnlySpan { return h.spans.Ended() }

func (h *harness) eventNames() []string {
	var out []string
	for _, recs := range h.logs.Result() {
		for _, r := range recs {
			out = append(out, r.EventName)
		}
	}
	return out
}

func (h *harness) metricNames(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}
