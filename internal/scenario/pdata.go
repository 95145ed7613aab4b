package scenario

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Batches turns the records into pdata batches of `every` event time each, in order, as an SDK
// exporter would send them: one resource per service. fn gets each batch (an empty one is
// skipped) and may modify it.
func (s *Scenario) Batches(every time.Duration, fn func(td ptrace.Traces, ld plog.Logs) error) error {
	i := 0
	for i < len(s.Records) {
		until := s.Records[i].End.Truncate(every).Add(every)
		td, ld := ptrace.NewTraces(), plog.NewLogs()
		spans := map[string]ptrace.SpanSlice{}
		logs := map[string]plog.LogRecordSlice{}
		for ; i < len(s.Records) && s.Records[i].End.Before(until); i++ {
			r := &s.Records[i]
			if r.Kind != PolicyDenied {
				ss, ok := spans[r.Service]
				if !ok {
					rs := td.ResourceSpans().AppendEmpty()
					rs.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), r.Service)
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
					rl.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), r.Service)
					sl := rl.ScopeLogs().AppendEmpty()
					sl.Scope().SetName("github.com/otel-mlx/otel-mlx/instrumentation/otelmlx")
					ls = sl.LogRecords()
					logs[r.Service] = ls
				}
				r.log(ls.AppendEmpty())
			}
		}
		if err := fn(td, ld); err != nil {
			return err
		}
	}
	return nil
}

func (r *Record) common(m pcommon.Map) {
	m.PutStr(mlxconv.AttrGenAIProviderName, mlxconv.ProviderMLX)
	m.PutStr(mlxconv.AttrGenAIRequestModel, r.Model)
	if r.Digest != "" {
		m.PutStr(mlxconv.AttrModelSHA256, r.Digest)
	}
	if r.Mem > 0 {
		m.PutInt(mlxconv.AttrMemoryActive, r.Mem*9/10)
		m.PutInt(mlxconv.AttrMemoryPeak, r.Mem)
	}
	m.PutStr(mlxconv.AttrDevice, mlxconv.DeviceGPU)
	if r.Kind == Load || r.Kind == PolicyDenied {
		m.PutStr(mlxconv.AttrModelSource, r.Source)
		m.PutStr(mlxconv.AttrModelSourceKind, sourceKind(r.Source))
		m.PutStr(mlxconv.AttrModelFormat, r.Format)
		m.PutStr(mlxconv.AttrPolicyDecision, r.Decision)
		m.PutStr(mlxconv.AttrPolicyRule, mlxconv.RuleDefault)
	}
	if r.Err {
		if r.Kind == Load {
			m.PutStr(mlxconv.AttrErrorType, mlxconv.ErrorTypePolicyDenied)
		} else {
			m.PutStr(mlxconv.AttrErrorType, "mlx_runtime_error")
		}
	}
}

func sourceKind(s string) string {
	switch {
	case len(s) >= 5 && s[:5] == "hf://":
		return mlxconv.SourceKindHF
	case len(s) >= 8 && s[:8] == "https://":
		return mlxconv.SourceKindHTTPS
	case len(s) >= 7 && s[:7] == "file://":
		return mlxconv.SourceKindLocal
	}
	return mlxconv.SourceKindOther
}

func (r *Record) span(sp ptrace.Span) {
	sp.SetTraceID(r.TraceID)
	sp.SetSpanID(r.SpanID)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(r.End.Add(-r.Dur)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(r.End))
	m := sp.Attributes()
	m.PutStr(mlxconv.AttrGenAIOperationName, r.Op)
	r.common(m)
	if r.Kind == Load {
		sp.SetName(mlxconv.LoadSpanName(r.Model))
		sp.SetKind(ptrace.SpanKindInternal)
		m.PutInt(mlxconv.AttrModelSize, 4<<30)
		m.PutInt(mlxconv.AttrModelFiles, 3)
	} else {
		sp.SetName(mlxconv.InferenceSpanName(r.Op, r.Model))
		sp.SetKind(ptrace.SpanKindServer)
		m.PutStr(mlxconv.AttrGenAIResponseModel, r.Model)
		m.PutInt(mlxconv.AttrGenAIUsageInputTokens, r.InTok)
		m.PutInt(mlxconv.AttrGenAIUsageOutputTokens, r.OutTok)
		m.PutStr(mlxconv.AttrEnduserPseudoID, r.User)
		if r.TTFT > 0 {
			m.PutDouble(mlxconv.AttrGenAIResponseTimeToFirstChunk, r.TTFT)
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
		lr.SetEventName(mlxconv.EventModelPolicyDenied)
		lr.SetSeverityNumber(plog.SeverityNumberError)
	case r.Err:
		lr.SetEventName(mlxconv.EventModelLoadFailed)
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
	default:
		lr.SetEventName(mlxconv.EventModelLoadSucceeded)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	r.common(lr.Attributes())
}

// Flag is one flagged item read back from processed data.
type Flag struct {
	T    time.Time
	Type string
	Key  string
}

// Flags reads the mlxanomaly flags of processed traces and logs.
func Flags(td ptrace.Traces, ld plog.Logs) []Flag {
	var out []Flag
	read := func(m pcommon.Map, t time.Time) {
		if v, ok := m.Get(mlxconv.AttrAnomalyFlag); !ok || !v.Bool() {
			return
		}
		f := Flag{T: t}
		if v, ok := m.Get(mlxconv.AttrAnomalyType); ok {
			f.Type = v.Str()
		}
		if v, ok := m.Get(mlxconv.AttrAnomalyKey); ok {
			f.Key = v.Str()
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
