package otelmlx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The benchmarks come in pairs measured in the same run, so make bench can print the overhead
// of the wrapper and compare it with what otelhttp adds to a bare handler.

type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

type discardLogs struct{}

func (discardLogs) Export(context.Context, []sdklog.Record) error { return nil }
func (discardLogs) Shutdown(context.Context) error                { return nil }
func (discardLogs) ForceFlush(context.Context) error              { return nil }

// recordingProviders is the fully recording setup: SDK tracer with a batch processor, a metric
// ManualReader and the log SDK with a batch processor, both exporting to nowhere.
func recordingProviders(b *testing.B) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider, *sdklog.LoggerProvider) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(discardLogs{})))
	b.Cleanup(func() {
		ctx := context.Background()
		tp.Shutdown(ctx)
		mp.Shutdown(ctx)
		lp.Shutdown(ctx)
	})
	return tp, mp, lp
}

var benchReq = Request{Operation: OperationChat, Model: "tiny-lm", RequestID: "req-1", Identity: "api-key-1234", MaxTokens: 64}

func work(context.Context) (int, Response, error) {
	return 1, Response{Model: "tiny-lm", InputTokens: 12, OutputTokens: 34, FinishReasons: finishStop}, nil
}

var finishStop = []string{"stop"}

var sink int

func BenchmarkInferBare(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, _, _ := work(ctx)
		sink += v
	}
}

func BenchmarkInferNoop(b *testing.B) {
	in, err := New(WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()), WithLoggerProvider(lognoop.NewLoggerProvider()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, _ := Infer(ctx, in, benchReq, work)
		sink += v
	}
}

func BenchmarkInferRecording(b *testing.B) {
	tp, mp, lp := recordingProviders(b)
	in, err := New(WithTracerProvider(tp), WithMeterProvider(mp), WithLoggerProvider(lp))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, _ := Infer(ctx, in, benchReq, work)
		sink += v
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

var okBody = []byte("ok")

func bareHandler(w http.ResponseWriter, _ *http.Request) { w.Write(okBody) }

func BenchmarkHTTPBare(b *testing.B) {
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	w := &discardWriter{h: http.Header{}}
	h := http.HandlerFunc(bareHandler)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func BenchmarkHTTPOtelhttp(b *testing.B) {
	tp, mp, _ := recordingProviders(b)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	w := &discardWriter{h: http.Header{}}
	h := otelhttp.NewHandler(http.HandlerFunc(bareHandler), "chat", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp))
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
