// Command eventsgen records the security events and findings a detection team's SIEM would
// receive from otel-mlx, as flat JSON objects (one per line), for executing the Sigma rules
// of deploy/sigma: scenario traffic (internal/scenario) goes through the mlxanomaly processor
// and the mlxfinding connector built by their factories, as in the distribution; the log
// records that reach the security pipeline are written with the contract's field names.
//
//	eventsgen -out DIR [-seed N] [-days N]
//
// writes DIR/incidents.jsonl (traffic with injected incidents of every type, followed by the
// security events of the instrumentation library driven through a pinned digest mismatch, a
// source outside the allowlist, an admitted pickle load and an out-of-memory inference; see
// internal/securityevents) and DIR/quiet.jsonl (the same traffic without incidents).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otel-mlx/otel-mlx/connector/mlxfinding"
	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/internal/scenario"
	"github.com/otel-mlx/otel-mlx/internal/securityevents"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

func main() {
	out := flag.String("out", "", "output folder")
	seed := flag.Uint64("seed", 7, "scenario seed")
	days := flag.Int("days", 1, "days of event time (1 to 7)")
	flag.Parse()
	if *out == "" || *days < 1 || *days > 7 {
		fmt.Fprintln(os.Stderr, "usage: eventsgen -out DIR [-seed N] [-days 1..7]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "eventsgen:", err)
		os.Exit(1)
	}
	sc := scenario.DefaultConfig()
	sc.Seed, sc.Days, sc.PerType, sc.Rate = *seed, *days, 3, 0.1
	for _, phase := range []struct {
		name    string
		perType int
	}{{"incidents", 3}, {"quiet", 0}} {
		sc.PerType = phase.perType
		// The quiet phase starts after the detectors' warm-up: what they flag while learning the
		// first loads is not traffic a rule should alert on.
		from := sc.Start
		if phase.perType == 0 {
			from = sc.Start.Add(sc.Warmup)
		}
		n, err := record(sc, from, phase.perType > 0, filepath.Join(*out, phase.name+".jsonl"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "eventsgen:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d events\n", phase.name, n)
	}
}

func record(sc scenario.Config, from time.Time, instrumented bool, path string) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	n := 0
	write := func(_ context.Context, ld plog.Logs) error {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					if ts := lrs.At(k).Timestamp().AsTime(); ts.Before(from) {
						continue
					}
					b, err := json.Marshal(flatten(rl.Resource(), lrs.At(k)))
					if err != nil {
						return err
					}
					w.Write(b)
					w.WriteByte('\n')
					n++
				}
			}
		}
		return nil
	}
	security, _ := consumer.NewLogs(write)
	ctx := context.Background()
	host := componenttest.NewNopHost()
	cf := mlxfinding.NewFactory()
	cset := connectortest.NewNopSettings(mlxfinding.Type)
	t2l, err := cf.CreateTracesToLogs(ctx, cset, cf.CreateDefaultConfig(), security)
	if err != nil {
		return 0, err
	}
	l2l, err := cf.CreateLogsToLogs(ctx, cset, cf.CreateDefaultConfig(), security)
	if err != nil {
		return 0, err
	}
	// The logs pipeline exports the security events and feeds the connector.
	logsOut, _ := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		return errors.Join(write(ctx, ld), l2l.ConsumeLogs(ctx, ld))
	})
	pf := mlxanomaly.NewFactory()
	pset := processortest.NewNopSettings(mlxanomaly.Type)
	tp, err := pf.CreateTraces(ctx, pset, mlxanomaly.NewFactory().CreateDefaultConfig(), t2l)
	if err != nil {
		return 0, err
	}
	lp, err := pf.CreateLogs(ctx, pset, mlxanomaly.NewFactory().CreateDefaultConfig(), logsOut)
	if err != nil {
		return 0, err
	}
	if err := errors.Join(tp.Start(ctx, host), lp.Start(ctx, host)); err != nil {
		return 0, err
	}
	defer func() { _ = tp.Shutdown(ctx); _ = lp.Shutdown(ctx) }()
	err = scenario.Generate(sc).Batches(10*time.Second, func(td ptrace.Traces, ld plog.Logs) error {
		// The instrumentation records one mlx.inference.completed audit event per request
		// (the contract's audit subset); the scenario has the spans, so the events are made
		// from them here.
		auditEvents(td, ld)
		if td.SpanCount() > 0 {
			if err := tp.ConsumeTraces(ctx, td); err != nil {
				return err
			}
		}
		if ld.LogRecordCount() > 0 {
			return lp.ConsumeLogs(ctx, ld)
		}
		return nil
	})
	if err == nil && instrumented {
		// After the scenario's traffic, through the same logs pipeline as the service's events.
		var ld plog.Logs
		if ld, err = securityevents.Generate(ctx, sc.Start.Add(time.Duration(sc.Days)*24*time.Hour+time.Minute), 1); err == nil {
			err = lp.ConsumeLogs(ctx, ld)
		}
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

var auditKeys = []string{mlxconv.AttrGenAIOperationName, mlxconv.AttrGenAIRequestModel, mlxconv.AttrModelSHA256,
	mlxconv.AttrRequestID, mlxconv.AttrEnduserPseudoID, mlxconv.AttrClientAddress, mlxconv.AttrGenAIUsageInputTokens,
	mlxconv.AttrGenAIUsageOutputTokens, mlxconv.AttrErrorType}

func auditEvents(td ptrace.Traces, ld plog.Logs) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		var lrs plog.LogRecordSlice
		started := false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sps := sss.At(j).Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				if op, _ := sp.Attributes().Get(mlxconv.AttrGenAIOperationName); op.Str() == mlxconv.OperationLoadModel {
					continue
				}
				if !started {
					rl := ld.ResourceLogs().AppendEmpty()
					rs.Resource().CopyTo(rl.Resource())
					lrs = rl.ScopeLogs().AppendEmpty().LogRecords()
					started = true
				}
				lr := lrs.AppendEmpty()
				lr.SetTimestamp(sp.EndTimestamp())
				lr.SetTraceID(sp.TraceID())
				lr.SetSpanID(sp.SpanID())
				lr.SetEventName(mlxconv.EventInferenceCompleted)
				lr.SetSeverityNumber(plog.SeverityNumberInfo)
				if sp.Status().Code() == ptrace.StatusCodeError {
					lr.SetEventName(mlxconv.EventInferenceFailed)
					lr.SetSeverityNumber(plog.SeverityNumberWarn)
				}
				for _, key := range auditKeys {
					if v, ok := sp.Attributes().Get(key); ok {
						v.CopyTo(lr.Attributes().PutEmpty(key))
					}
				}
			}
		}
	}
}

// flatten writes a log record as the SIEM sees it: the attributes under their contract names,
// the record's fields under event.name, severity_text, severity_number, trace_id, span_id and
// @timestamp, the resource's service.name.
func flatten(res pcommon.Resource, lr plog.LogRecord) map[string]any {
	m := map[string]any{}
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		m[k] = v.AsRaw()
		return true
	})
	if v, ok := res.Attributes().Get("service.name"); ok {
		m["service.name"] = v.AsString()
	}
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	m["@timestamp"] = ts.AsTime().UTC().Format(time.RFC3339Nano)
	m["event.name"] = lr.EventName()
	sev := lr.SeverityText()
	if sev == "" {
		sev = lr.SeverityNumber().String()
	}
	m["severity_text"] = sev
	m["severity_number"] = int(lr.SeverityNumber())
	m["trace_id"] = lr.TraceID().String()
	m["span_id"] = lr.SpanID().String()
	if lr.Body().Type() != pcommon.ValueTypeEmpty {
		m["message"] = lr.Body().AsString()
	}
	return m
}
