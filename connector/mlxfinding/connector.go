package mlxfinding // import "github.com/otel-mlx/otel-mlx/connector/mlxfinding"

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// finder turns each flagged item (an mlxanomaly onset) into one finding log record. It holds
// no state between batches: one flagged item, one finding.
type finder struct {
	component.StartFunc
	component.ShutdownFunc
	cfg  *Config
	next consumer.Logs
	now  func() time.Time // for tests; nil is time.Now
}

func (f *finder) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func flagged(m pcommon.Map) bool {
	v, ok := m.Get(attrFlag)
	return ok && v.Type() == pcommon.ValueTypeBool && v.Bool()
}

// out builds the findings of one input resource lazily: nothing is allocated for a resource
// without flagged items, which is nearly every resource.
type out struct {
	logs     plog.Logs
	records  plog.LogRecordSlice
	resource pcommon.Resource
	started  bool
}

func (o *out) next() plog.LogRecord {
	if !o.started {
		rl := o.logs.ResourceLogs().AppendEmpty()
		o.resource.CopyTo(rl.Resource())
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(ScopeName)
		o.records = sl.LogRecords()
		o.started = true
	}
	return o.records.AppendEmpty()
}

func (f *finder) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	logs := plog.NewLogs()
	observed := pcommon.NewTimestampFromTime(f.clock())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		o := out{logs: logs, resource: rs.Resource()}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sps := sss.At(j).Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				if !flagged(sp.Attributes()) {
					continue
				}
				f.finding(o.next(), rs.Resource(), sp.Attributes(), sp.EndTimestamp(), observed, sp.TraceID(), sp.SpanID(), sp.Name())
			}
		}
	}
	return f.emit(ctx, logs)
}

func (f *finder) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	logs := plog.NewLogs()
	observed := pcommon.NewTimestampFromTime(f.clock())
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		o := out{logs: logs, resource: rl.Resource()}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if lr.EventName() == EventName || !flagged(lr.Attributes()) {
					continue
				}
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				f.finding(o.next(), rl.Resource(), lr.Attributes(), ts, observed, lr.TraceID(), lr.SpanID(), lr.EventName())
			}
		}
	}
	return f.emit(ctx, logs)
}

func (f *finder) emit(ctx context.Context, logs plog.Logs) error {
	if logs.ResourceLogs().Len() == 0 {
		return nil
	}
	return f.next.ConsumeLogs(ctx, logs)
}

func (f *finder) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// finding fills one finding from a flagged item. The item's strings were sanitized by the
// instrumentation and bounded by the processor's inputs; they are copied as they are.
func (f *finder) finding(lr plog.LogRecord, res pcommon.Resource, item pcommon.Map, ts, observed pcommon.Timestamp,
	traceID pcommon.TraceID, spanID pcommon.SpanID, name string) {
	lr.SetEventName(EventName)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(observed)
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	a := lr.Attributes()
	a.EnsureCapacity(len(copied) + 2)
	for _, k := range copied {
		if v, ok := item.Get(k); ok {
			v.CopyTo(a.PutEmpty(k))
		}
	}
	if v, ok := res.Attributes().Get(attrService); ok {
		a.PutStr(attrService, v.AsString())
	}
	if name != "" {
		a.PutStr(AttrItem, name)
	}
	typ := ""
	if v, ok := item.Get(attrType); ok {
		typ = v.AsString()
	}
	num, text := f.cfg.severity(typ)
	lr.SetSeverityNumber(num)
	lr.SetSeverityText(text)
	lr.Body().SetStr(summary(typ, item))
}

// summary is the human-readable body: what was detected, where, and the evidence.
func summary(typ string, item pcommon.Map) string {
	s := "mlxanomaly detected " + typ
	if v, ok := item.Get(attrKey); ok {
		s += " on " + v.AsString()
	}
	num := func(k string) (float64, bool) {
		v, ok := item.Get(k)
		if !ok {
			return 0, false
		}
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			return v.Double(), true
		case pcommon.ValueTypeInt:
			return float64(v.Int()), true
		}
		return 0, false
	}
	var ev []string
	for _, k := range []struct{ key, label string }{{attrObserved, "observed"}, {attrBaseline, "baseline"},
		{attrZScore, "z"}, {attrPValue, "p"}} {
		if x, ok := num(k.key); ok {
			ev = append(ev, k.label+" "+strconv.FormatFloat(x, 'g', 4, 64))
		}
	}
	if len(ev) > 0 {
		s += " (" + strings.Join(ev, ", ") + ")"
	}
	if v, ok := item.Get(attrTechnique); ok {
		s += ", MITRE ATLAS " + v.AsString()
	}
	return s
}
