// Command mlxload sends MLX inference spans to an OTLP/gRPC receiver at a fixed rate, or as fast
// as the receiver accepts, for the collector benchmark (`make bench-otelcol`).
//
//	mlxload -endpoint 127.0.0.1:4317 -rate 10000 -duration 30s
//	mlxload -endpoint 127.0.0.1:4317 -rate 0 -workers 8 -duration 20s   # saturation
//
// A load generator that builds every span through an SDK spends more CPU per span than the
// collector it measures (telemetrygen reached some 4,400 spans/s on two shared cores). mlxload
// builds its spans once, as pdata: batches of -batch spans from a few services and models and
// -callers pseudonymous callers, with token counts and durations drawn from log-normal laws, as
// the otel-mlx instrumentation records them (docs/DATA-CONTRACT.md). Before each request it
// rewrites only the timestamps, so the collector's detectors, which run on event time, see
// current traffic. Requests are paced on a schedule (request k is due at k·batch/rate after the
// start), so a late request does not lower the rate that follows; -workers bounds the requests
// in flight. A refused or failed request is counted, not retried.
//
// At the end it prints one line: spans sent and accepted, spans failed, requests, elapsed
// seconds, the achieved rate and the generator's own CPU seconds.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

type config struct {
	endpoint string
	rate     float64 // spans per second; 0: as fast as the receiver accepts
	duration time.Duration
	batch    int
	workers  int
	callers  int
	seed     uint64
	timeout  time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.endpoint, "endpoint", "127.0.0.1:4317", "OTLP/gRPC receiver (host:port, plaintext)")
	flag.Float64Var(&c.rate, "rate", 10000, "spans per second; 0 sends as fast as the receiver accepts")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long to send")
	flag.IntVar(&c.batch, "batch", 500, "spans per export request (1 to 10000)")
	flag.IntVar(&c.workers, "workers", 4, "export requests in flight at most (1 to 256)")
	flag.IntVar(&c.callers, "callers", 200, "pseudonymous callers the spans come from (1 to 100000)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the generated traffic")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "deadline of one export request")
	flag.Parse()
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "mlxload:", err)
		os.Exit(2)
	}
	res, err := run(context.Background(), c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mlxload:", err)
		os.Exit(1)
	}
	fmt.Println(res)
	if res.failed > 0 {
		os.Exit(3)
	}
}

func (c *config) validate() error {
	switch {
	case c.rate < 0 || math.IsNaN(c.rate) || math.IsInf(c.rate, 0):
		return fmt.Errorf("-rate %v: want spans per second >= 0 (0: unthrottled), e.g. -rate 10000", c.rate)
	case c.duration <= 0:
		return fmt.Errorf("-duration %v: want a positive duration, e.g. -duration 30s", c.duration)
	case c.batch < 1 || c.batch > 10000:
		return fmt.Errorf("-batch %d: want 1 to 10000 spans per request, e.g. -batch 500", c.batch)
	case c.workers < 1 || c.workers > 256:
		return fmt.Errorf("-workers %d: want 1 to 256 requests in flight, e.g. -workers 4", c.workers)
	case c.callers < 1 || c.callers > 100000:
		return fmt.Errorf("-callers %d: want 1 to 100000, e.g. -callers 200", c.callers)
	case c.timeout <= 0:
		return fmt.Errorf("-timeout %v: want a positive duration, e.g. -timeout 10s", c.timeout)
	}
	return nil
}

type result struct {
	sent, failed, requests, failedRequests int64
	elapsed, cpu                           float64
	firstErr                               error
}

func (r result) String() string {
	s := fmt.Sprintf("sent=%d failed=%d requests=%d failed_requests=%d elapsed_s=%.3f rate=%.0f cpu_s=%.3f",
		r.sent, r.failed, r.requests, r.failedRequests, r.elapsed, float64(r.sent)/r.elapsed, r.cpu)
	if r.firstErr != nil {
		s += fmt.Sprintf(" first_error=%q", r.firstErr.Error())
	}
	return s
}

func run(ctx context.Context, c config) (result, error) {
	conn, err := grpc.NewClient(c.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return result{}, fmt.Errorf("connecting to %s: %w", c.endpoint, err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	cpu0 := cpuSeconds()
	start := time.Now()
	end := start.Add(c.duration)
	var next atomic.Int64 // index of the next request
	var sent, failed, reqs, failedReqs atomic.Int64
	var errOnce sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < c.workers; w++ {
		// Each worker owns its batches: only their timestamps change between requests.
		batches := make([]*batch, 4)
		for i := range batches {
			batches[i] = newBatch(rand.New(rand.NewPCG(c.seed, uint64(w*len(batches)+i))), c.batch, c.callers)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				k := next.Add(1) - 1
				due := start
				if c.rate > 0 {
					due = start.Add(time.Duration(float64(k) * float64(c.batch) / c.rate * float64(time.Second)))
				}
				if !due.Before(end) || (c.rate == 0 && !time.Now().Before(end)) {
					return
				}
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				b := batches[i%len(batches)]
				b.stamp(time.Now())
				rctx, cancel := context.WithTimeout(ctx, c.timeout)
				resp, err := client.Export(rctx, b.req)
				cancel()
				reqs.Add(1)
				n := int64(c.batch)
				if err == nil {
					if rej := resp.PartialSuccess().RejectedSpans(); rej > 0 {
						err = fmt.Errorf("receiver rejected %d spans: %s", rej, resp.PartialSuccess().ErrorMessage())
						failed.Add(rej)
						n -= rej
					}
				} else {
					failed.Add(n)
					n = 0
				}
				sent.Add(n)
				if err != nil {
					failedReqs.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	res := result{sent: sent.Load(), failed: failed.Load(), requests: reqs.Load(), failedRequests: failedReqs.Load(),
		elapsed: time.Since(start).Seconds(), cpu: cpuSeconds() - cpu0, firstErr: firstErr}
	if res.requests == 0 {
		return res, errors.New("no request was sent: -duration shorter than one request's interval")
	}
	return res, nil
}

// cpuSeconds is the user and system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// batch is one export request of MLX inference spans, built once; stamp moves it to now.
type batch struct {
	req   ptraceotlp.ExportRequest
	spans []ptrace.Span
	durs  []time.Duration
}

var (
	services = []string{"chat-api", "assistant", "embedder"}
	models   = []struct{ name, op, sha string }{
		{"llama-3.2-3b-instruct-4bit", mlxconv.OperationChat, "3f5a"},
		{"qwen2.5-7b-instruct-4bit", mlxconv.OperationChat, "91c2"},
		{"mistral-7b-instruct-v0.3-4bit", mlxconv.OperationTextCompletion, "c0d7"},
		{"bge-small-en-v1.5", mlxconv.OperationEmbeddings, "5e18"},
	}
)

func newBatch(r *rand.Rand, n, callers int) *batch {
	td := ptrace.NewTraces()
	b := &batch{spans: make([]ptrace.Span, 0, n), durs: make([]time.Duration, 0, n)}
	scopes := make([]ptrace.SpanSlice, len(services))
	for i, s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), s)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("github.com/otel-mlx/otel-mlx/instrumentation/otelmlx")
		scopes[i] = ss.Spans()
	}
	var id [16]byte
	for i := 0; i < n; i++ {
		si := r.IntN(len(services))
		m := models[r.IntN(len(models))]
		if si == 2 { // the embedder serves the embedding model only
			m = models[3]
		} else if m.op == mlxconv.OperationEmbeddings {
			m = models[0]
		}
		sp := scopes[si].AppendEmpty()
		fillID(r, id[:])
		sp.SetTraceID(pcommon.TraceID(id))
		fillID(r, id[:8])
		sp.SetSpanID(pcommon.SpanID(id[:8]))
		sp.SetName(mlxconv.InferenceSpanName(m.op, m.name))
		sp.SetKind(ptrace.SpanKindServer)
		a := sp.Attributes()
		a.EnsureCapacity(16)
		a.PutStr(mlxconv.AttrGenAIOperationName, m.op)
		a.PutStr(mlxconv.AttrGenAIProviderName, mlxconv.ProviderMLX)
		a.PutStr(mlxconv.AttrGenAIRequestModel, m.name)
		a.PutStr(mlxconv.AttrGenAIResponseModel, m.name)
		a.PutStr(mlxconv.AttrModelSHA256, m.sha+"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852")
		a.PutStr(mlxconv.AttrRequestID, hex.EncodeToString(id[:8]))
		a.PutStr(mlxconv.AttrEnduserPseudoID, fmt.Sprintf("%032x", uint64(r.IntN(callers))*0x9e3779b97f4a7c15))
		a.PutStr(mlxconv.AttrClientAddress, fmt.Sprintf("10.0.%d.%d", r.IntN(4), 1+r.IntN(250)))
		a.PutStr(mlxconv.AttrDevice, "gpu")
		in := lognormal(r, 300, 0.8)
		var dur time.Duration
		if m.op == mlxconv.OperationEmbeddings {
			a.PutInt(mlxconv.AttrGenAIUsageInputTokens, in)
			dur = time.Duration(5+in/20) * time.Millisecond
		} else {
			out := lognormal(r, 150, 0.7)
			ttft := 0.05 + float64(in)*0.0004*math.Exp(0.1*r.NormFloat64())
			a.PutInt(mlxconv.AttrGenAIUsageInputTokens, in)
			a.PutInt(mlxconv.AttrGenAIUsageOutputTokens, out)
			a.PutInt(mlxconv.AttrGenAIRequestMaxTokens, 1024)
			a.PutDouble(mlxconv.AttrGenAIResponseTimeToFirstChunk, ttft)
			a.PutEmptySlice(mlxconv.AttrGenAIResponseFinishReasons).AppendEmpty().SetStr("stop")
			dur = time.Duration((ttft + float64(out)*0.025*math.Exp(0.1*r.NormFloat64())) * float64(time.Second))
		}
		peak := int64(4<<30) + lognormal(r, 200<<20, 0.3)
		a.PutInt(mlxconv.AttrMemoryActive, 4<<30)
		a.PutInt(mlxconv.AttrMemoryPeak, peak)
		a.PutInt(mlxconv.AttrMemoryCache, 512<<20)
		b.spans = append(b.spans, sp)
		b.durs = append(b.durs, dur)
	}
	b.req = ptraceotlp.NewExportRequestFromTraces(td)
	return b
}

// stamp sets every span to have ended at now (its start: now less its duration).
func (b *batch) stamp(now time.Time) {
	end := pcommon.NewTimestampFromTime(now)
	for i, sp := range b.spans {
		sp.SetEndTimestamp(end)
		sp.SetStartTimestamp(end - pcommon.Timestamp(b.durs[i]))
	}
}

func lognormal(r *rand.Rand, median, sigma float64) int64 {
	return max(1, int64(median*math.Exp(sigma*r.NormFloat64())))
}

func fillID(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
