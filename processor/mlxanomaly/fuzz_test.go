package mlxanomaly

import (
	"context"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attribute names the fuzzer chooses from: the contract's, plus one that is not.
var fuzzKeys = []string{"gen_ai.operation.name", "gen_ai.request.model", "mlx.model.source", "mlx.model.sha256",
	"mlx.model.format", "mlx.policy.decision", "mlx.memory.active", "mlx.memory.peak", "gen_ai.usage.input_tokens",
	"gen_ai.usage.output_tokens", "enduser.pseudo.id", "error.type", "gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token",
	"gen_ai.provider.name", "deployment.environment", "other"}

var fuzzEvents = []string{"mlx.model.load.succeeded", "mlx.model.load.failed", "mlx.model.policy.denied",
	"mlx.model.integrity.mismatch", "mlx.inference.completed", "mlx.inference.failed", "mlx.inference.rejected",
	"mlx.resource.exhausted", "mlx.unknown", ""}

// fuzzReader turns fuzz bytes into choices; it returns zeros when the bytes run out.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u64() uint64 {
	var x [8]byte
	for i := range x {
		x[i] = r.byte()
	}
	return binary.LittleEndian.Uint64(x[:])
}

func (r *fuzzReader) str() string {
	n := int(r.byte() % 12)
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, r.byte())
	}
	return string(out)
}

// fillAttrs writes attributes of every type, including wrong ones, from the fuzz bytes.
func (r *fuzzReader) fillAttrs(m pcommon.Map) {
	n := int(r.byte() % 10)
	for i := 0; i < n; i++ {
		k := fuzzKeys[int(r.byte())%len(fuzzKeys)]
		switch r.byte() % 7 {
		case 0:
			m.PutStr(k, r.str())
		case 1:
			m.PutInt(k, int64(r.u64()))
		case 2:
			m.PutDouble(k, math.Float64frombits(r.u64()))
		case 3:
			m.PutBool(k, r.byte()%2 == 0)
		case 4:
			m.PutEmptySlice(k).AppendEmpty().SetStr(r.str())
		case 5:
			m.PutEmptyMap(k).PutStr("x", r.str())
		case 6:
			m.PutEmpty(k)
		}
	}
}

func fuzzProcessor() *anomalyProcessor {
	cfg := DefaultConfig()
	cfg.KeyAttributes = []string{"deployment.environment"}
	cfg.MaxKeys = 64
	cfg.Warmup = 2
	return &anomalyProcessor{e: newEngine(cfg, nil)}
}

func checkScores(t *testing.T, m pcommon.Map) {
	if v, ok := m.Get(AttrScore); ok {
		if s := v.Double(); !(s >= 0 && s <= 1) {
			t.Fatalf("score %v out of [0,1]", s)
		}
	}
}

func FuzzProcessTraces(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},"scopeSpans":[{"spans":[{"name":"chat m","startTimeUnixNano":"1","endTimeUnixNano":"1000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]}]}]}]}`))
	f.Add([]byte{3, 1, 0, 5, 'a', 'b', 'c', 'd', 'e', 2, 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{200, 0, 255, 255, 255, 255, 255, 255, 255, 127})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzProcessor()
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
		if err != nil {
			td = ptrace.NewTraces()
			r := &fuzzReader{b: data}
			for i := 0; i < 40 && len(r.b) > 0; i++ {
				rs := td.ResourceSpans().AppendEmpty()
				r.fillAttrs(rs.Resource().Attributes())
				if r.byte()%2 == 0 {
					rs.Resource().Attributes().PutStr("service.name", r.str())
				}
				sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
				sp.SetName(r.str())
				sp.SetStartTimestamp(pcommon.Timestamp(r.u64()))
				sp.SetEndTimestamp(pcommon.Timestamp(r.u64()))
				sp.SetSpanID(pcommon.SpanID{r.byte(), r.byte()})
				sp.Status().SetCode(ptrace.StatusCode(r.byte() % 3))
				r.fillAttrs(sp.Attributes())
			}
		}
		for round := 0; round < 2; round++ {
			out, err := p.processTraces(context.Background(), td)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < out.ResourceSpans().Len(); i++ {
				sss := out.ResourceSpans().At(i).ScopeSpans()
				for j := 0; j < sss.Len(); j++ {
					for k := 0; k < sss.At(j).Spans().Len(); k++ {
						checkScores(t, sss.At(j).Spans().At(k).Attributes())
					}
				}
			}
		}
		if p.e.tab.len() > 64 {
			t.Fatalf("%d keys held, cap 64", p.e.tab.len())
		}
	})
}

func FuzzProcessLogs(f *testing.F) {
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"5","eventName":"mlx.model.policy.denied","attributes":[{"key":"mlx.model.format","value":{"stringValue":"pickle"}}]}]}]}]}`))
	f.Add([]byte{1, 2, 3, 0, 9, 9, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzProcessor()
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			ld = plog.NewLogs()
			r := &fuzzReader{b: data}
			for i := 0; i < 40 && len(r.b) > 0; i++ {
				rl := ld.ResourceLogs().AppendEmpty()
				r.fillAttrs(rl.Resource().Attributes())
				lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
				lr.SetEventName(fuzzEvents[int(r.byte())%len(fuzzEvents)])
				lr.SetTimestamp(pcommon.Timestamp(r.u64()))
				if r.byte()%2 == 0 {
					lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Unix(0, int64(r.u64()>>2))))
				}
				lr.SetSpanID(pcommon.SpanID{r.byte()})
				r.fillAttrs(lr.Attributes())
			}
		}
		out, err := p.processLogs(context.Background(), ld)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < out.ResourceLogs().Len(); i++ {
			sls := out.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
					checkScores(t, sls.At(j).LogRecords().At(k).Attributes())
				}
			}
		}
	})
}
