package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// receiver is an OTLP/gRPC trace receiver that counts spans and keeps the last request.
type receiver struct {
	ptraceotlp.UnimplementedGRPCServer
	mu     sync.Mutex
	spans  int
	reqs   int
	last   ptrace.Traces
	refuse bool
}

func (r *receiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "memory limit reached")
	}
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	r.spans += td.SpanCount()
	r.reqs++
	r.last = td
	return ptraceotlp.NewExportResponse(), nil
}

func serve(t *testing.T, r *receiver) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, r)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestFixedRateDeliversMLXSpans(t *testing.T) {
	r := &receiver{}
	c := config{endpoint: serve(t, r), rate: 2000, duration: time.Second, batch: 100, workers: 2, callers: 10, seed: 1, timeout: 5 * time.Second}
	res, err := run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The schedule sends request k at k·batch/rate: 20 requests due within the second.
	if res.requests != 20 || res.sent != 2000 || res.failed != 0 {
		t.Fatalf("result %v: want 20 requests, 2000 spans sent, none failed", res)
	}
	if r.spans != 2000 || r.reqs != 20 {
		t.Fatalf("receiver got %d spans in %d requests, want 2000 in 20", r.spans, r.reqs)
	}
	if res.elapsed < 0.9 || res.elapsed > 3 {
		t.Errorf("elapsed %.2f s for a 1 s schedule", res.elapsed)
	}
	now := time.Now()
	rss := r.last.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		spans := rss.At(i).ScopeSpans().At(0).Spans()
		for j := 0; j < spans.Len(); j++ {
			sp := spans.At(j)
			a := sp.Attributes()
			op, _ := a.Get(mlxconv.AttrGenAIOperationName)
			model, _ := a.Get(mlxconv.AttrGenAIRequestModel)
			prov, _ := a.Get(mlxconv.AttrGenAIProviderName)
			if prov.Str() != mlxconv.ProviderMLX || sp.Name() != mlxconv.InferenceSpanName(op.Str(), model.Str()) {
				t.Fatalf("span %q (%v) is not an MLX inference span", sp.Name(), a.AsRaw())
			}
			if _, ok := a.Get(mlxconv.AttrEnduserPseudoID); !ok {
				t.Fatalf("span %q has no caller", sp.Name())
			}
			end := sp.EndTimestamp().AsTime()
			if d := now.Sub(end); d < 0 || d > 5*time.Second || !sp.StartTimestamp().AsTime().Before(end) {
				t.Fatalf("span %q ends %v before the test's end (start %v): not stamped at send time", sp.Name(), d, sp.StartTimestamp().AsTime())
			}
		}
	}
}

func TestRefusedSpansAreCounted(t *testing.T) {
	r := &receiver{refuse: true}
	c := config{endpoint: serve(t, r), rate: 1000, duration: 200 * time.Millisecond, batch: 50, workers: 1, callers: 5, seed: 2, timeout: time.Second}
	res, err := run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.sent != 0 || res.failed != 200 || res.failedRequests != 4 || res.firstErr == nil || !strings.Contains(res.String(), "memory limit reached") {
		t.Fatalf("result %v: want 4 refused requests of 50 spans, none sent, the receiver's error reported", res)
	}
}

func TestValidate(t *testing.T) {
	ok := config{rate: 1, duration: time.Second, batch: 1, workers: 1, callers: 1, timeout: time.Second}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mut  func(*config)
		want string
	}{
		{func(c *config) { c.rate = -1 }, "-rate -1"},
		{func(c *config) { c.batch = 0 }, "-batch 0"},
		{func(c *config) { c.workers = 1000 }, "-workers 1000"},
		{func(c *config) { c.duration = 0 }, "-duration 0s"},
		{func(c *config) { c.callers = 0 }, "-callers 0"},
	} {
		c := ok
		tc.mut(&c)
		if err := c.validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("validate(%+v) = %v, want an error starting %q", c, err, tc.want)
		}
	}
}
