package mlxanomaly

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"
)

const benchBatch = 100

// benchBatches builds batches of 100 inference spans as the instrumentation writes them: six
// models, fifty callers, one request every 100 ms of event time.
func benchBatches(n int) []ptrace.Traces {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]ptrace.Traces, n)
	at := t0
	for b := range out {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "mlx-svc")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := 0; i < benchBatch; i++ {
			at = at.Add(100 * time.Millisecond)
			model := fmt.Sprintf("model-%d", rng.IntN(6))
			sp := spans.AppendEmpty()
			sp.SetName("chat " + model)
			sp.SetSpanID(pcommon.SpanID{byte(i), byte(b), byte(b >> 8), 1})
			d := time.Duration((0.2 + 0.05*rng.NormFloat64()) * float64(time.Second))
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at.Add(-d)))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at))
			m := sp.Attributes()
			m.PutStr("gen_ai.operation.name", "chat")
			m.PutStr("gen_ai.provider.name", "mlx")
			m.PutStr("gen_ai.request.model", model)
			m.PutStr("gen_ai.response.model", model)
			m.PutInt("gen_ai.usage.input_tokens", int64(200+rng.IntN(100)))
			m.PutInt("gen_ai.usage.output_tokens", int64(100+rng.IntN(100)))
			m.PutStr("mlx.model.sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
			m.PutStr("enduser.pseudo.id", fmt.Sprintf("caller-%02d", rng.IntN(50)))
			m.PutInt("mlx.memory.peak", int64(4<<30+rng.IntN(1<<20)))
			m.PutDouble("gen_ai.response.time_to_first_chunk", 0.05+0.01*rng.Float64())
			m.PutStr("mlx.device", "gpu")
		}
		out[b] = td
	}
	return out
}

func benchTraces(b *testing.B, p processor.Traces) {
	batches := benchBatches(256)
	wire := make([][]byte, len(batches))
	for i, td := range batches {
		var err error
		if wire[i], err = (&ptrace.ProtoMarshaler{}).MarshalTraces(td); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Both processors get each batch fresh from the wire, as the OTLP receiver hands it over;
		// decoding is not timed, so the figures are the processors' own.
		b.StopTimer()
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire[i%len(wire)])
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := p.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchBatch, "ns/span")
}

// BenchmarkTraces compares the processor with a pass-through processor built by the same
// processorhelper in the same run: the difference is what mlxanomaly adds per span.
func BenchmarkTraces(b *testing.B) {
	set := processortest.NewNopSettings(Type)
	b.Run("passthrough", func(b *testing.B) {
		p, err := processorhelper.NewTraces(context.Background(), set, DefaultConfig(), consumertest.NewNop(),
			func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) { return td, nil })
		if err != nil {
			b.Fatal(err)
		}
		benchTraces(b, p)
	})
	// The floor of any processor that keeps the data contract: read each span's attributes once
	// and write mlxanomaly.score on it, with no detector in between. What mlxanomaly adds over
	// this is the cost of detection itself.
	b.Run("floor", func(b *testing.B) {
		ap := &anomalyProcessor{e: newEngine(DefaultConfig(), nil)}
		p, err := processorhelper.NewTraces(context.Background(), set, DefaultConfig(), consumertest.NewNop(),
			func(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
				rss := td.ResourceSpans()
				for i := 0; i < rss.Len(); i++ {
					base := resourceObs(ap, rss.At(i).Resource())
					sss := rss.At(i).ScopeSpans()
					for j := 0; j < sss.Len(); j++ {
						spans := sss.At(j).Spans()
						for k := 0; k < spans.Len(); k++ {
							o := base
							if ap.readAttrs(spans.At(k).Attributes(), &o) {
								v := verdict{score: 0.1}
								ap.write(spans.At(k).Attributes(), &o, &v)
							}
						}
					}
				}
				return td, nil
			})
		if err != nil {
			b.Fatal(err)
		}
		benchTraces(b, p)
	})
	b.Run("mlxanomaly", func(b *testing.B) {
		p, err := NewFactory().CreateTraces(context.Background(), set, DefaultConfig(), consumertest.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = p.Shutdown(context.Background()) }()
		benchTraces(b, p)
	})
}

// BenchmarkStatePerKey measures the heap held per detector key: many distinct keys of each
// kind, the heap before and after, divided by the keys.
func BenchmarkStatePerKey(b *testing.B) {
	const n = 20_000
	var perKey float64
	for i := 0; i < b.N; i++ {
		cfg := DefaultConfig()
		cfg.MaxKeys = 10 * n
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e := newEngine(cfg, nil)
		for k := 0; k < n; k++ {
			// One new model (operation and model keys), one new caller and one new service each.
			o := newObs()
			o.t = t0.UnixNano() + int64(k)
			o.service = fmt.Sprintf("s%d", k)
			o.model, o.op, o.user, o.source = fmt.Sprintf("m%d", k), "chat", fmt.Sprintf("u%d", k), "hf://x"
			o.isInfer, o.dur, o.outTok = true, 0.1, 10
			var v verdict
			e.observe(&o, srcTraces, &v)
			o.isInfer, o.isLoad = false, true
			e.observe(&o, srcTraces, &v)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		keys := e.tab.len()
		perKey = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(keys)
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perKey, "B/key")
	maxKind := 0
	for _, k := range []uint8{kindOp, kindModel, kindService, kindCaller} {
		maxKind = max(maxKind, entrySize(k))
	}
	b.ReportMetric(float64(maxKind), "B/key-largest-kind")
}
