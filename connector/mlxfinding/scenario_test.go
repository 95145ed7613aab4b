package mlxfinding

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otel-mlx/otel-mlx/internal/scenario"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly"
)

// TestScenarioOneFindingPerOnset runs a day of scenario traffic with every incident type
// through the mlxanomaly processor and the connector, as the distribution's pipelines do:
// every flagged item gives exactly one finding, with its ids, type and ATLAS technique.
func TestScenarioOneFindingPerOnset(t *testing.T) {
	ctx := context.Background()
	traceSink, logSink, findings := &consumertest.TracesSink{}, &consumertest.LogsSink{}, &consumertest.LogsSink{}
	pf, cf := mlxanomaly.NewFactory(), NewFactory()
	pset := processortest.NewNopSettings(mlxanomaly.Type)
	tp, err := pf.CreateTraces(ctx, pset, mlxanomaly.NewFactory().CreateDefaultConfig(), traceSink)
	require.NoError(t, err)
	lp, err := pf.CreateLogs(ctx, pset, mlxanomaly.NewFactory().CreateDefaultConfig(), logSink)
	require.NoError(t, err)
	cset := connectortest.NewNopSettings(Type)
	t2l, err := cf.CreateTracesToLogs(ctx, cset, cf.CreateDefaultConfig(), findings)
	require.NoError(t, err)
	l2l, err := cf.CreateLogsToLogs(ctx, cset, cf.CreateDefaultConfig(), findings)
	require.NoError(t, err)
	host := componenttest.NewNopHost()
	require.NoError(t, tp.Start(ctx, host))
	require.NoError(t, lp.Start(ctx, host))
	defer func() { _ = tp.Shutdown(ctx); _ = lp.Shutdown(ctx) }()

	sc := scenario.DefaultConfig()
	sc.Days, sc.PerType, sc.Rate = 1, 3, 0.3
	s := scenario.Generate(sc)
	require.NoError(t, s.Batches(10*time.Second, func(td ptrace.Traces, ld plog.Logs) error {
		if td.SpanCount() > 0 {
			if err := tp.ConsumeTraces(ctx, td); err != nil {
				return err
			}
		}
		if ld.LogRecordCount() > 0 {
			return lp.ConsumeLogs(ctx, ld)
		}
		return nil
	}))
	type onset struct {
		span pcommon.SpanID
		typ  string
	}
	want := map[onset]int{}
	for _, td := range traceSink.AllTraces() {
		require.NoError(t, t2l.ConsumeTraces(ctx, td))
		eachSpan(td, func(sp ptrace.Span) {
			if flagged(sp.Attributes()) {
				typ, _ := sp.Attributes().Get("mlxanomaly.type")
				want[onset{sp.SpanID(), typ.Str()}]++
			}
		})
	}
	for _, ld := range logSink.AllLogs() {
		require.NoError(t, l2l.ConsumeLogs(ctx, ld))
		eachLog(ld, func(lr plog.LogRecord) {
			if flagged(lr.Attributes()) {
				typ, _ := lr.Attributes().Get("mlxanomaly.type")
				want[onset{lr.SpanID(), typ.Str()}]++
			}
		})
	}
	got := map[onset]int{}
	types := map[string]bool{}
	for _, ld := range findings.AllLogs() {
		eachLog(ld, func(lr plog.LogRecord) {
			typ, _ := lr.Attributes().Get("mlxanomaly.type")
			tech, _ := lr.Attributes().Get("mlxanomaly.atlas.technique")
			assert.Equal(t, mlxanomaly.Technique(typ.Str()), tech.Str())
			assert.Equal(t, EventName, lr.EventName())
			assert.False(t, lr.TraceID().IsEmpty())
			got[onset{lr.SpanID(), typ.Str()}]++
			types[typ.Str()] = true
		})
	}
	assert.Equal(t, want, got)
	assert.GreaterOrEqual(t, len(types), 8, "findings of most incident types: %v", types)
}

func eachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			for k := 0; k < sss.At(j).Spans().Len(); k++ {
				fn(sss.At(j).Spans().At(k))
			}
		}
	}
}

func eachLog(ld plog.Logs, fn func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
				fn(sls.At(j).LogRecords().At(k))
			}
		}
	}
}
