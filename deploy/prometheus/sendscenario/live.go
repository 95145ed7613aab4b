package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/internal/securityevents"
)

// Live traffic: one service, three models, one request per model every 250 ms, as the
// instrumentation records them (span name "{operation} {model}", the operation and model
// attributes, error status and error.type on failures).
const (
	liveService = "mlx-live"
	// LiveFlaky fails one request in three (error rate 33%, above the 5% of
	// MLXModelErrorRateHigh).
	liveFlaky = "live-flaky"
	// LiveSlow answers in 20 s (p95 in the 10-30 s bucket, above the 10 s of MLXModelLatencyHigh).
	liveSlow = "live-slow"
	// LiveHealthy answers in 80 ms without errors: no alert may name it.
	liveHealthy = "live-healthy"
	liveTick    = 250 * time.Millisecond
)

// liveOOM is how many out-of-memory inferences the instrumented service reports: the
// MLXResourceExhausted alert wants three in 10 minutes.
const liveOOM = 3

func sendLive(d time.Duration, post func(path string, body []byte) error) error {
	// First the security events only the instrumentation library makes (a pinned digest
	// mismatch, an allowlist denial, an admitted pickle, out-of-memory inferences), timed now.
	ld, err := securityevents.Generate(context.Background(), time.Now(), liveOOM)
	if err != nil {
		return err
	}
	var lm plog.JSONMarshaler
	b, err := lm.MarshalLogs(ld)
	if err != nil {
		return err
	}
	if err := post("/v1/logs", b); err != nil {
		return err
	}
	var m ptrace.JSONMarshaler
	end := time.Now().Add(d)
	n, errs := 0, 0
	t := time.NewTicker(liveTick)
	defer t.Stop()
	for i := 0; time.Now().Before(end); i++ {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", liveService)
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		now := time.Now()
		for _, model := range []string{liveFlaky, liveSlow, liveHealthy} {
			dur := 80 * time.Millisecond
			failed := model == liveFlaky && i%3 == 0
			if model == liveSlow {
				dur = 20 * time.Second
			}
			sp := spans.AppendEmpty()
			sp.SetName(mlxconv.OperationChat + " " + model)
			sp.SetKind(ptrace.SpanKindServer)
			var tid pcommon.TraceID
			var sid pcommon.SpanID
			_, _ = rand.Read(tid[:])
			_, _ = rand.Read(sid[:])
			sp.SetTraceID(tid)
			sp.SetSpanID(sid)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-dur)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			sp.Attributes().PutStr(mlxconv.AttrGenAIOperationName, mlxconv.OperationChat)
			sp.Attributes().PutStr(mlxconv.AttrGenAIRequestModel, model)
			if failed {
				sp.Status().SetCode(ptrace.StatusCodeError)
				sp.Status().SetMessage("model server returned 500")
				sp.Attributes().PutStr(mlxconv.AttrErrorType, "500")
				errs++
			}
			n++
		}
		b, err := m.MarshalTraces(td)
		if err != nil {
			return err
		}
		if err := post("/v1/traces", b); err != nil {
			return err
		}
		<-t.C
	}
	fmt.Printf("live: sent %d security events, %d spans (%d failed) in %s\n", ld.LogRecordCount(), n, errs, d)
	return nil
}
