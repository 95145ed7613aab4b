package scenario

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Batches turns the records into pdata batches of `every` event time each, in order, as an SDK
// exporter would send them: one resource per service. fn gets each batch (an empty one is
// skipped) and may modify it.
func (s *Scenario) Batches(every time.Duration, fn func(td ptrace.Traces, ld plog.Logs) error) error {
	var (
		td    ptrace.Traces
		ld    plog.Logs
		spans map[string]ptrace.SpanSlice
		logs  map[string]plog.LogRecordSlice
		until time.Time
		open  bool
	)
	flush := func() error {
		if !open {
			return nil
		}
		open = false
		return fn(td, ld)
	}
	err := s.Each(func(r *Record) error {
		if open && !r.End.Before(until) {
			if err := flush(); err != nil {
				return err
			}
		}
		if !open {
			until = r.End.Truncate(every).Add(every)
			td, ld = ptrace.NewTraces(), plog.NewLogs()
			spans, logs = map[string]ptrace.SpanSlice{}, map[string]plog.LogRecordSlice{}
			open = true
		}
		if r.Kind != PolicyDenied {
			ss, ok := spans[r.Service]
			if !ok {
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", r.Service)
				sc := rs.ScopeSpans().AppendEmpty()
				sc.Scope().SetName("github.com/otel-mlx/otel-mlx/instrumentation/otelmlx")
				ss = sc.Spans()
				spans[r.Service] = ss
			}
			r.span(ss.AppendEmpty())
		}
		if r.Kind == PolicyDenied || r.WithLogRec {
			ls, ok := logs[r.Service]
			if !ok {
				rl := ld.ResourceLogs().AppendEmpty()
				rl.Resource().Attributes().PutStr("service.name", r.Service)
				sl := rl.ScopeLogs().AppendEmpty()
				sl.Scope().SetName("github.com/otel-mlx/otel-mlx/instrumentation/otelmlx")
				ls = sl.LogRecords()
				logs[r.Service] = ls
			}
			r.log(ls.AppendEmpty())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

func (r *Record) common(m pcommon.Map) {
	m.PutStr("gen_ai.provider.name", "mlx")
	m.PutStr("gen_ai.request.model", r.Model)
	if r.Digest != "" {
		m.PutStr("mlx.model.sha256", r.Digest)
	}
	if r.Mem > 0 {
		m.PutInt("mlx.memory.active", r.Mem*9/10)
		m.PutInt("mlx.memory.peak", r.Mem)
	}
	m.PutStr("mlx.device", "gpu")
	if r.Kind == Load || r.Kind == PolicyDenied {
		m.PutStr("mlx.model.source", r.Source)
		m.PutStr("mlx.model.source.kind", sourceKind(r.Source))
		m.PutStr("mlx.model.format", r.Format)
		m.PutStr("mlx.policy.decision", r.Decision)
		m.PutStr("mlx.policy.rule", "default")
	}
	if r.Err {
		if r.Kind == Load {
			m.PutStr("error.type", "policy_denied")
		} else {
			m.PutStr("error.type", "mlx_runtime_error")
		}
	}
}

func sourceKind(s string) string {
	switch {
	case len(s) >= 5 && s[:5] == "hf://":
		return "hf"
	case len(s) >= 8 && s[:8] == "https://":
		return "https"
	case len(s) >= 7 && s[:7] == "file://":
		return "local"
	}
	return "other"
}

func (r *Record) span(sp ptrace.Span) {
	sp.SetTraceID(r.TraceID)
	sp.SetSpanID(r.SpanID)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(r.End.Add(-r.Dur)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(r.End))
	m := sp.Attributes()
	m.PutStr("gen_ai.operation.name", r.Op)
	r.common(m)
	if r.Kind == Load {
		sp.SetName("load_model " + r.Model)
		sp.SetKind(ptrace.SpanKindInternal)
		m.PutInt("mlx.model.size", 4<<30)
		m.PutInt("mlx.model.files", 3)
	} else {
		sp.SetName(r.Op + " " + r.Model)
		sp.SetKind(ptrace.SpanKindServer)
		m.PutStr("gen_ai.response.model", r.Model)
		m.PutInt("gen_ai.usage.input_tokens", r.InTok)
		if r.OutTok > 0 {
			m.PutInt("gen_ai.usage.output_tokens", r.OutTok)
		}
		m.PutStr("enduser.pseudo.id", r.User)
		if r.TTFT > 0 {
			name := "gen_ai.response.time_to_first_chunk"
			if r.LegacyTTFT {
				name = "gen_ai.server.time_to_first_token"
			}
			m.PutDouble(name, r.TTFT)
		}
	}
	if r.Err {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
}

func (r *Record) log(lr plog.LogRecord) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(r.End))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.End))
	lr.SetTraceID(r.TraceID)
	lr.SetSpanID(r.SpanID)
	switch {
	case r.Kind == PolicyDenied:
		lr.SetEventName("mlx.model.policy.denied")
		lr.SetSeverityNumber(plog.SeverityNumberError)
	case r.Err:
		lr.SetEventName("mlx.model.load.failed")
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
	default:
		lr.SetEventName("mlx.model.load.succeeded")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	r.common(lr.Attributes())
}

// Flag is one flagged item read back from processed data.
type Flag struct {
	T    time.Time
	Type string
	Key  string
	// The evidence the flag carries (0 when absent).
	Observed, Baseline, Z, P float64
}

// Flags reads the mlxanomaly flags of processed traces and logs.
func Flags(td ptrace.Traces, ld plog.Logs) []Flag {
	var out []Flag
	read := func(m pcommon.Map, t time.Time) {
		if v, ok := m.Get("mlxanomaly.flag"); !ok || !v.Bool() {
			return
		}
		f := Flag{T: t}
		if v, ok := m.Get("mlxanomaly.type"); ok {
			f.Type = v.Str()
		}
		if v, ok := m.Get("mlxanomaly.key"); ok {
			f.Key = v.Str()
		}
		for k, dst := range map[string]*float64{"mlxanomaly.observed": &f.Observed, "mlxanomaly.baseline": &f.Baseline,
			"mlxanomaly.zscore": &f.Z, "mlxanomaly.p_value": &f.P} {
			if v, ok := m.Get(k); ok {
				*dst = v.Double()
			}
		}
		out = append(out, f)
	}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sps := sss.At(j).Spans()
			for k := 0; k < sps.Len(); k++ {
				read(sps.At(k).Attributes(), sps.At(k).EndTimestamp().AsTime())
			}
		}
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				read(lrs.At(k).Attributes(), lrs.At(k).Timestamp().AsTime())
			}
		}
	}
	return out
}
