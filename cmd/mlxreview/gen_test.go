package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otel-mlx/otel-mlx/internal/scenario"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// truth is what the generated input holds, counted from the processed pdata independently of
// the review's code.
type truth struct {
	spans, logs, denials, flags int
	flagTypes                   map[string]int
	digests                     map[string]struct{}
	models                      map[string]struct{}
}

// writeScenario generates scenario traffic, runs it through the mlxanomaly processor built by
// its factory (as the distribution does) and writes the output as the collector's file
// exporter does: one OTLP JSON export request per line. With gz, the file is gzip'ed.
func writeScenario(tb testing.TB, path string, sc scenario.Config, gz bool) truth {
	tb.Helper()
	tr := truth{flagTypes: map[string]int{}, digests: map[string]struct{}{}, models: map[string]struct{}{}}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var lastT ptrace.Traces
	var lastL plog.Logs
	fac := mlxanomaly.NewFactory()
	set := processortest.NewNopSettings(mlxanomaly.Type)
	tc, _ := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error { lastT = td; return nil })
	lc, _ := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error { lastL = ld; return nil })
	ctx := context.Background()
	tp, err := fac.CreateTraces(ctx, set, mlxanomaly.NewFactory().CreateDefaultConfig(), tc)
	if err != nil {
		tb.Fatal(err)
	}
	lp, err := fac.CreateLogs(ctx, set, mlxanomaly.NewFactory().CreateDefaultConfig(), lc)
	if err != nil {
		tb.Fatal(err)
	}
	host := componenttest.NewNopHost()
	if err := tp.Start(ctx, host); err != nil {
		tb.Fatal(err)
	}
	if err := lp.Start(ctx, host); err != nil {
		tb.Fatal(err)
	}
	defer tp.Shutdown(ctx)
	defer lp.Shutdown(ctx)
	s := scenario.Generate(sc)
	for _, r := range s.All() {
		if r.Kind == scenario.PolicyDenied {
			tr.denials++
		}
		if r.Digest != "" && (r.Kind == scenario.Load || r.Kind == scenario.PolicyDenied) {
			tr.digests[r.Digest] = struct{}{}
		}
		if r.Kind == scenario.Inference {
			tr.models[r.Model] = struct{}{}
		}
	}
	var tm ptrace.JSONMarshaler
	var lm plog.JSONMarshaler
	err = s.Batches(10*time.Second, func(td ptrace.Traces, ld plog.Logs) error {
		if td.SpanCount() > 0 {
			if err := tp.ConsumeTraces(ctx, td); err != nil {
				return err
			}
			tr.spans += lastT.SpanCount()
			for _, fl := range scenario.Flags(lastT, plog.NewLogs()) {
				tr.flags++
				tr.flagTypes[fl.Type]++
			}
			b, err := tm.MarshalTraces(lastT)
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
		if ld.LogRecordCount() > 0 {
			if err := lp.ConsumeLogs(ctx, ld); err != nil {
				return err
			}
			tr.logs += lastL.LogRecordCount()
			for _, fl := range scenario.Flags(ptrace.NewTraces(), lastL) {
				tr.flags++
				tr.flagTypes[fl.Type]++
			}
			b, err := lm.MarshalLogs(lastL)
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return tr
}

func smallScenario(seed uint64) scenario.Config {
	sc := scenario.DefaultConfig()
	sc.Seed, sc.Days, sc.PerType, sc.Rate = seed, 1, 3, 0.3
	return sc
}
