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
)

var (
	traceID = pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	spanID  = pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
	t0      = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

func flaggedAttrs(m pcommon.Map) {
	m.PutStr("gen_ai.operation.name", "chat")
	m.PutStr("gen_ai.request.model", "tiny-lm")
	m.PutStr("enduser.pseudo.id", "5f0c7f1e2d3c4b5a69788796a5b4c3d2")
	m.PutStr("client.address", "10.0.0.7")
	m.PutStr("mlx.model.sha256", "ab12")
	m.PutInt("gen_ai.usage.output_tokens", 4000)
	m.PutDouble("mlxanomaly.score", 0.97)
	m.PutBool("mlxanomaly.flag", true)
	m.PutStr("mlxanomaly.type", "token_spike")
	m.PutStr("mlxanomaly.key", "svc/tiny-lm")
	m.PutDouble("mlxanomaly.observed", 4000)
	m.PutDouble("mlxanomaly.baseline", 160)
	m.PutDouble("mlxanomaly.zscore", 9.5)
	m.PutDouble("mlxanomaly.p_value", 1e-6)
	m.PutStr("mlxanomaly.atlas.technique", "AML.T0034")
}

func wantFinding(t *testing.T, lr plog.LogRecord, item string) {
	t.Helper()
	assert.Equal(t, "mlx.anomaly.detected", lr.EventName())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "WARN", lr.SeverityText())
	assert.Equal(t, traceID, lr.TraceID())
	assert.Equal(t, spanID, lr.SpanID())
	assert.Equal(t, t0, lr.Timestamp().AsTime())
	assert.Equal(t, t0.Add(time.Minute), lr.ObservedTimestamp().AsTime())
	assert.Equal(t, map[string]any{
		"mlxanomaly.type":            "token_spike",
		"mlxanomaly.key":             "svc/tiny-lm",
		"gen_ai.request.model":       "tiny-lm",
		"enduser.pseudo.id":          "5f0c7f1e2d3c4b5a69788796a5b4c3d2",
		"mlxanomaly.observed":        4000.0,
		"mlxanomaly.baseline":        160.0,
		"mlxanomaly.zscore":          9.5,
		"mlxanomaly.p_value":         1e-6,
		"mlxanomaly.score":           0.97,
		"mlxanomaly.atlas.technique": "AML.T0034",
		"mlx.model.sha256":           "ab12",
		"client.address":             "10.0.0.7",
		"service.name":               "mlx-svc",
		"mlx.finding.item":           item,
	}, lr.Attributes().AsRaw())
	assert.Equal(t, "mlxanomaly detected token_spike on svc/tiny-lm (observed 4000, baseline 160, z 9.5, p 1e-06), MITRE ATLAS AML.T0034",
		lr.Body().Str())
}

func newConnector(t *testing.T) (*finder, *consumertest.LogsSink) {
	sink := &consumertest.LogsSink{}
	f := NewFactory()
	c, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(Type), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	fd := c.(*finder)
	fd.now = func() time.Time { return t0.Add(time.Minute) }
	require.NoError(t, fd.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, fd.Shutdown(context.Background())) })
	return fd, sink
}

func TestTracesToLogs(t *testing.T) {
	c, sink := newConnector(t)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "mlx-svc")
	rs.Resource().Attributes().PutStr("host.name", "gpu-1")
	sps := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 5; i++ { // quiet spans: no finding
		sp := sps.AppendEmpty()
		sp.SetName("chat tiny-lm")
		sp.Attributes().PutDouble("mlxanomaly.score", 0.1)
	}
	sp := sps.AppendEmpty()
	sp.SetName("chat tiny-lm")
	sp.SetTraceID(traceID)
	sp.SetSpanID(spanID)
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0))
	flaggedAttrs(sp.Attributes())
	// A resource without flagged spans yields no resource in the output.
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("other")

	require.NoError(t, c.ConsumeTraces(context.Background(), td))
	require.Len(t, sink.AllLogs(), 1)
	ld := sink.AllLogs()[0]
	require.Equal(t, 1, ld.ResourceLogs().Len())
	assert.Equal(t, map[string]any{"service.name": "mlx-svc", "host.name": "gpu-1"}, ld.ResourceLogs().At(0).Resource().Attributes().AsRaw())
	assert.Equal(t, ScopeName, ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())
	require.Equal(t, 1, ld.LogRecordCount())
	wantFinding(t, ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0), "chat tiny-lm")

	// A batch without flags sends nothing downstream.
	quiet := ptrace.NewTraces()
	quiet.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes().PutBool("mlxanomaly.flag", false)
	require.NoError(t, c.ConsumeTraces(context.Background(), quiet))
	assert.Len(t, sink.AllLogs(), 1)
}

func TestLogsToLogs(t *testing.T) {
	sink := &consumertest.LogsSink{}
	f := NewFactory()
	c, err := f.CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(Type), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	c.(*finder).now = func() time.Time { return t0.Add(time.Minute) }
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "mlx-svc")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().SetEventName("mlx.model.load.succeeded")
	lr := lrs.AppendEmpty()
	lr.SetEventName("mlx.inference.completed")
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(t0)) // no Timestamp: the observed one is used
	flaggedAttrs(lr.Attributes())
	// A finding that comes back into the pipeline is not a new onset.
	again := lrs.AppendEmpty()
	again.SetEventName(EventName)
	flaggedAttrs(again.Attributes())

	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	require.Len(t, sink.AllLogs(), 1)
	out := sink.AllLogs()[0]
	require.Equal(t, 1, out.LogRecordCount())
	wantFinding(t, out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0), "mlx.inference.completed")
}

func TestInvalidConfigFailsCreate(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.DefaultSeverity = "LOUD"
	_, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(Type), cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "default_severity")
	_, err = f.CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(Type), cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "default_severity")
}
