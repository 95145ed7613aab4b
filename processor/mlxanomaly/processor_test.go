package mlxanomaly

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type harness struct {
	t      *testing.T
	tp     processor.Traces
	lp     processor.Logs
	traces *consumertest.TracesSink
	logs   *consumertest.LogsSink
	reader *sdkmetric.ManualReader
	e      *engine
}

var harnessSeq int

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	harnessSeq++
	h := &harness{t: t, traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink), reader: sdkmetric.NewManualReader()}
	set := processortest.NewNopSettings(Type)
	set.ID = component.NewIDWithName(Type, fmt.Sprintf("%s-%d", t.Name(), harnessSeq))
	set.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	f := NewFactory()
	var err error
	h.tp, err = f.CreateTraces(context.Background(), set, cfg, h.traces)
	require.NoError(t, err)
	h.lp, err = f.CreateLogs(context.Background(), set, cfg, h.logs)
	require.NoError(t, err)
	require.NoError(t, h.tp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, h.lp.Start(context.Background(), componenttest.NewNopHost()))
	shared.Lock()
	h.e = shared.m[set.ID].e
	shared.Unlock()
	t.Cleanup(func() {
		assert.NoError(t, h.tp.Shutdown(context.Background()))
		assert.NoError(t, h.lp.Shutdown(context.Background()))
	})
	return h
}

// span describes one test span.
type span struct {
	service string
	name    string
	end     time.Time
	dur     time.Duration
	attrs   map[string]any
	err     bool
	id      byte
}

func inference(model string, end time.Time, dur time.Duration, attrs map[string]any) span {
	a := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mlx", "gen_ai.request.model": model}
	for k, v := range attrs {
		a[k] = v
	}
	return span{service: "svc", name: "chat " + model, end: end, dur: dur, attrs: a}
}

func load(model, source, digest, format string, end time.Time) span {
	return span{service: "svc", name: "load_model " + model, end: end, dur: 2 * time.Second, attrs: map[string]any{
		"gen_ai.operation.name": "load_model", "gen_ai.provider.name": "mlx", "gen_ai.request.model": model,
		"mlx.model.source": source, "mlx.model.sha256": digest, "mlx.model.format": format, "mlx.policy.decision": "allow",
	}}
}

func buildTraces(spans ...span) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		if s.service != "" {
			rs.Resource().Attributes().PutStr("service.name", s.service)
		}
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName(s.name)
		sp.SetSpanID(pcommon.SpanID{s.id, 1, 2, 3, 4, 5, 6, 7})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.end.Add(-s.dur)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.end))
		require.NoError(nil, sp.Attributes().FromRaw(s.attrs))
		if s.err {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// send processes spans and returns the processed spans' attributes, in order.
func (h *harness) send(spans ...span) []map[string]any {
	h.t.Helper()
	h.traces.Reset()
	require.NoError(h.t, h.tp.ConsumeTraces(context.Background(), buildTraces(spans...)))
	var out []map[string]any
	for _, td := range h.traces.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			sps := td.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
			for k := 0; k < sps.Len(); k++ {
				out = append(out, sps.At(k).Attributes().AsRaw())
			}
		}
	}
	return out
}

func (h *harness) one(s span) map[string]any { return h.send(s)[0] }

func outTokens(n int64) map[string]any { return map[string]any{"gen_ai.usage.output_tokens": n} }

func flagged(a map[string]any) bool { v, _ := a[AttrFlag].(bool); return v }

// warm sends n ordinary inference spans of one model, one a second from start, and returns the
// time after the last one.
func (h *harness) warm(model string, start time.Time, n int) time.Time {
	var spans []span
	for i := 0; i < n; i++ {
		d := time.Duration(100+10*math.Sin(float64(i))) * time.Millisecond
		spans = append(spans, inference(model, start.Add(time.Duration(i)*time.Second), d, map[string]any{
			"gen_ai.usage.input_tokens": int64(200 + i%7), "gen_ai.usage.output_tokens": int64(100 + i%5),
			"mlx.memory.peak": int64(1<<30 + (i%3)<<20),
		}))
	}
	for _, a := range h.send(spans...) {
		require.False(h.t, flagged(a), "a warm-up span was flagged: %v", a)
		require.Contains(h.t, a, AttrScore)
	}
	return start.Add(time.Duration(n) * time.Second)
}

func TestLatencySpikeAndDebounce(t *testing.T) {
	h := newHarness(t, defaultConfig())
	at := h.warm("m", t0, 300)
	a := h.one(inference("m", at, 2*time.Second, outTokens(102)))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "latency_spike", a[AttrType])
	assert.Equal(t, "svc/m/chat", a[AttrKey])
	assert.Equal(t, "AML.T0029", a[AttrTechnique])
	assert.Greater(t, a[AttrZScore].(float64), 5.0)
	// A chat request without a first chunk is judged against the usual duration of as much
	// work (102 output tokens): 2 s against ~0.1 s.
	assert.InDelta(t, 0.1, a[AttrBaseline].(float64), 0.01, "baseline in seconds for this work")
	assert.InDelta(t, 2.0, a[AttrObserved].(float64), 1e-9)
	assert.GreaterOrEqual(t, a[AttrScore].(float64), 0.5)
	assert.LessOrEqual(t, a[AttrScore].(float64), 1.0)

	// Within the cool-down: scored, not flagged again.
	a = h.one(inference("m", at.Add(time.Minute), 2*time.Second, outTokens(102)))
	assert.False(t, flagged(a))
	assert.GreaterOrEqual(t, a[AttrScore].(float64), 0.5)
	// After it: a new onset.
	h.warm("m", at.Add(2*time.Minute), 60)
	a = h.one(inference("m", at.Add(15*time.Minute), 3*time.Second, outTokens(102)))
	assert.True(t, flagged(a), "%v", a)
}

func TestLatencyShiftAccepted(t *testing.T) {
	h := newHarness(t, defaultConfig())
	at := h.warm("m", t0, 300)
	flags := 0
	// Latency triples and stays: one onset, then the new level becomes the baseline.
	for i := 0; i < 2000; i++ {
		d := time.Duration(300+20*math.Sin(float64(i))) * time.Millisecond
		if a := h.one(inference("m", at.Add(time.Duration(i)*time.Second), d, outTokens(102))); flagged(a) {
			flags++
			assert.Contains(t, []string{"latency_shift", "latency_spike"}, a[AttrType])
		}
	}
	assert.GreaterOrEqual(t, flags, 1)
	assert.LessOrEqual(t, flags, 3, "a lasting shift must be accepted, not flagged every cool-down")
}

// Time to first chunk feeds the latency detector under its semconv name and, for one release,
// under the name earlier releases used.
func TestTimeToFirstChunk(t *testing.T) {
	for _, key := range []string{"gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"} {
		t.Run(key, func(t *testing.T) {
			h := newHarness(t, defaultConfig())
			var spans []span
			for i := 0; i < 300; i++ {
				spans = append(spans, inference("m", t0.Add(time.Duration(i)*time.Second), 100*time.Millisecond,
					map[string]any{key: 0.05 + 0.002*math.Sin(float64(i))}))
			}
			h.send(spans...)
			a := h.one(inference("m", t0.Add(301*time.Second), 100*time.Millisecond, map[string]any{key: 1.5}))
			assert.True(t, flagged(a), "%v", a)
			assert.InDelta(t, 0.05, a[AttrBaseline].(float64), 0.01)
		})
	}
}

func TestSupplyChain(t *testing.T) {
	h := newHarness(t, defaultConfig())
	a := h.one(load("m", "hf://org/m@r1", "d1", "safetensors", t0))
	assert.False(t, flagged(a), "the first load teaches")
	a = h.one(load("m", "hf://org/m@r1", "d1", "safetensors", t0.Add(time.Hour)))
	assert.False(t, flagged(a))

	a = h.one(load("m", "https://evil.example/m", "d1", "safetensors", t0.Add(2*time.Hour)))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "new_model_source", a[AttrType])
	assert.Equal(t, "svc", a[AttrKey])
	assert.Equal(t, "AML.T0010.003", a[AttrTechnique])
	assert.NotContains(t, a, AttrZScore)

	a = h.one(load("m", "hf://org/m@r1", "d2", "safetensors", t0.Add(3*time.Hour)))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "model_digest_changed", a[AttrType])
	assert.Equal(t, "svc/m", a[AttrKey])

	a = h.one(load("m", "hf://org/m@r1", "d2", "pickle", t0.Add(4*time.Hour)))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "disallowed_format", a[AttrType])
	assert.Equal(t, "AML.T0011.000", a[AttrTechnique])

	// Another service has its own sources.
	s := load("m", "https://evil.example/m", "d9", "safetensors", t0.Add(5*time.Hour))
	s.service = "other"
	assert.False(t, flagged(h.one(s)))
}

func TestReloadStormAndDedupe(t *testing.T) {
	h := newHarness(t, defaultConfig())
	// Each load reported twice (span and log record, same span id) counts once.
	for i := 0; i < 3; i++ {
		s := load("m", "hf://org/m", "d", "safetensors", t0.Add(time.Duration(i)*30*time.Second))
		s.id = byte(i + 1)
		assert.False(t, flagged(h.one(s)))
		assert.False(t, h.sendLog(loadEvent(s)).flagged())
	}
	s := load("m", "hf://org/m", "d", "safetensors", t0.Add(2*time.Minute))
	s.id = 9
	a := h.one(s)
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "reload_storm", a[AttrType])
	assert.Equal(t, 4.0, a[AttrObserved], "the evidence of a storm is its count of loads")
	assert.Equal(t, 4.0, a[AttrBaseline], "against reload_storm.max_loads")
	assert.NotContains(t, a, AttrZScore)
	// Loads spread over hours are routine.
	h2 := newHarness(t, defaultConfig())
	for i := 0; i < 10; i++ {
		s := load("m", "hf://org/m", "d", "safetensors", t0.Add(time.Duration(i)*time.Hour))
		s.id = byte(i + 1)
		assert.False(t, flagged(h2.one(s)))
	}
}

func TestErrorBurstIsARate(t *testing.T) {
	h := newHarness(t, defaultConfig())
	at := h.warm("m", t0, 200)
	// One error on a healthy key is not a burst.
	s := inference("m", at, 100*time.Millisecond, map[string]any{"error.type": "timeout"})
	s.err = true
	a := h.one(s)
	assert.False(t, flagged(a))
	assert.Less(t, a[AttrScore].(float64), 0.5)
	at = h.warm("m", at.Add(time.Second), 30)
	// A run of errors is.
	var got map[string]any
	for i := 0; i < 15 && got == nil; i++ {
		s := inference("m", at.Add(time.Duration(i)*time.Second), 100*time.Millisecond, nil)
		s.err = true
		if a := h.one(s); flagged(a) {
			got = a
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, "error_burst", got[AttrType])
	assert.Equal(t, "svc/m/chat", got[AttrKey])

	// A quiet key (below warm-up) with one error is not scored as a burst.
	s = inference("quiet", at, 100*time.Millisecond, nil)
	s.err = true
	assert.False(t, flagged(h.one(s)))
}

func TestTokenAndMemorySpike(t *testing.T) {
	h := newHarness(t, defaultConfig())
	at := h.warm("m", t0, 300)
	a := h.one(inference("m", at, 100*time.Millisecond, map[string]any{"gen_ai.usage.output_tokens": int64(5000), "gen_ai.usage.input_tokens": int64(200)}))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "token_spike", a[AttrType])
	assert.Equal(t, "AML.T0034", a[AttrTechnique])
	assert.Equal(t, "svc/m", a[AttrKey])
	a = h.one(inference("m", at.Add(time.Second), 100*time.Millisecond, map[string]any{"mlx.memory.peak": int64(8 << 30)}))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "memory_spike", a[AttrType])
	// Less memory than usual is not a spike.
	a = h.one(inference("m", at.Add(2*time.Second), 100*time.Millisecond, map[string]any{"mlx.memory.peak": int64(1 << 20)}))
	assert.False(t, flagged(a))
}

func TestClientFlood(t *testing.T) {
	h := newHarness(t, defaultConfig())
	var spans []span
	for m := 0; m < 30; m++ {
		for c := 0; c < 10; c++ {
			spans = append(spans, inference("m", t0.Add(time.Duration(m)*time.Minute+time.Duration(c)*time.Second), 100*time.Millisecond,
				map[string]any{"enduser.pseudo.id": fmt.Sprintf("caller-%d", c)}))
		}
	}
	for _, a := range h.send(spans...) {
		require.False(t, flagged(a))
	}
	start := t0.Add(31 * time.Minute)
	var got map[string]any
	for i := 0; i < 60 && got == nil; i++ {
		a := h.one(inference("m", start.Add(time.Duration(i)*time.Second), 100*time.Millisecond, map[string]any{"enduser.pseudo.id": "caller-3"}))
		if flagged(a) && a[AttrType] == "client_flood" {
			got = a
		}
	}
	require.NotNil(t, got)
	assert.Equal(t, "svc/caller-3", got[AttrKey])
	assert.Equal(t, "AML.T0024.002", got[AttrTechnique])
	// The flag explains itself: the requests counted so far in the interval, the caller's
	// expected count (1 per minute), and the tail probability of so many, below the configured
	// false-alarm rate.
	assert.GreaterOrEqual(t, got[AttrObserved], 20.0)
	assert.InDelta(t, 1.0, got[AttrBaseline], 0.2)
	assert.Greater(t, got[AttrZScore], 5.0)
	assert.LessOrEqual(t, got[AttrPValue], 1e-7)
	assert.Greater(t, got[AttrPValue], 0.0)

	// Old items arriving late (a replayed hour) are not counted into the current interval.
	h2 := newHarness(t, defaultConfig())
	h2.send(spans...)
	for _, a := range h2.send(spans...) {
		require.False(t, flagged(a), "late items made a flood: %v", a)
	}
}

type logResult map[string]any

func (l logResult) flagged() bool { return flagged(l) }

func loadEvent(s span) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", s.service)
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("mlx.model.load.succeeded")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(s.end))
	lr.SetSpanID(pcommon.SpanID{s.id, 1, 2, 3, 4, 5, 6, 7})
	_ = lr.Attributes().FromRaw(s.attrs)
	return ld
}

func event(name string, at time.Time, attrs map[string]any) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(name)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	_ = lr.Attributes().FromRaw(attrs)
	return ld
}

func (h *harness) sendLog(ld plog.Logs) logResult {
	h.t.Helper()
	h.logs.Reset()
	require.NoError(h.t, h.lp.ConsumeLogs(context.Background(), ld))
	return h.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
}

func TestLogsPath(t *testing.T) {
	h := newHarness(t, defaultConfig())
	a := h.sendLog(event("mlx.model.policy.denied", t0, map[string]any{"gen_ai.request.model": "m", "mlx.model.format": "pickle", "mlx.policy.decision": "deny"}))
	require.True(t, a.flagged(), "%v", a)
	assert.Equal(t, "disallowed_format", a[AttrType])
	assert.Equal(t, "svc/m", a[AttrKey])

	a = h.sendLog(event("mlx.model.integrity.mismatch", t0.Add(time.Minute), map[string]any{"gen_ai.request.model": "m2"}))
	require.True(t, a.flagged(), "%v", a)
	assert.Equal(t, "model_digest_changed", a[AttrType])

	// Not an MLX event: untouched.
	a = h.sendLog(event("http.request", t0, map[string]any{"gen_ai.request.model": "m"}))
	assert.NotContains(t, a, AttrScore)
	a = h.sendLog(event("", t0, nil))
	assert.Empty(t, a)

	// The load of a model in a log record teaches the same state the spans use (shared engine).
	assert.False(t, h.sendLog(event("mlx.model.load.succeeded", t0, map[string]any{"gen_ai.request.model": "x", "mlx.model.source": "hf://a", "mlx.model.sha256": "d1"})).flagged())
	s := load("x", "hf://a", "d2", "safetensors", t0.Add(time.Hour))
	a2 := h.one(s)
	require.True(t, flagged(a2), "%v", a2)
	assert.Equal(t, "model_digest_changed", a2[AttrType])
}

func TestNonMLXSpansUntouched(t *testing.T) {
	h := newHarness(t, defaultConfig())
	a := h.one(span{service: "svc", name: "GET /", end: t0, dur: time.Second, attrs: map[string]any{"http.method": "GET"}})
	assert.Equal(t, map[string]any{"http.method": "GET"}, a)
}

func TestOddDataNeverPanics(t *testing.T) {
	cfg := defaultConfig()
	cfg.KeyAttributes = []string{"env"}
	h := newHarness(t, cfg)
	h.warm("m", t0, 100)
	odd := []span{
		{service: "", name: "", end: t0, attrs: map[string]any{"gen_ai.operation.name": 42, "gen_ai.request.model": []any{1, 2}}},
		{service: "svc", name: "chat m", end: t0, dur: -time.Second, attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.output_tokens": "many", "mlx.memory.peak": true, "env": map[string]any{"a": 1}}},
		{service: "svc", name: "chat m", end: time.Unix(0, 0), dur: 0, attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.server.time_to_first_token": math.NaN()}},
		{service: "svc", name: "chat m", end: t0.Add(100 * 365 * 24 * time.Hour), dur: time.Millisecond, attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": int64(-5)}},
		{service: "svc", name: "chat m", end: t0.Add(-48 * time.Hour), dur: time.Hour, attrs: map[string]any{"gen_ai.operation.name": "chat", "mlx.memory.peak": math.Inf(1)}},
		{service: "svc", name: "load_model", end: t0, dur: time.Second, attrs: map[string]any{"gen_ai.operation.name": "load_model", "mlx.model.source": "", "mlx.model.format": 7}},
		{service: "svc", name: "x", end: t0, attrs: map[string]any{"mlx.model.sha256": "d", "error.type": nil}},
	}
	wm := h.e.wm
	for _, s := range odd {
		for _, a := range h.send(s) {
			if v, ok := a[AttrScore]; ok {
				f := v.(float64)
				assert.True(t, f >= 0 && f <= 1, "score %v", f)
			}
		}
	}
	assert.LessOrEqual(t, h.e.wm-wm, int64(time.Second), "a timestamp a century ahead must not move event time")
	assert.NotPanics(t, func() {
		require.NoError(t, h.lp.ConsumeLogs(context.Background(), event("mlx.inference.completed", time.Time{}, map[string]any{"enduser.pseudo.id": 3})))
	})
}

func TestBoundedState(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxKeys = 5000
	e := newEngine(cfg, nil)
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 200_000
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		o := newObs()
		o.t = t0.UnixNano() + int64(i)*int64(time.Millisecond)
		o.service, o.op, o.isInfer = "svc", "chat", true
		o.model = fmt.Sprintf("model-%d", i)
		o.user = fmt.Sprintf("caller-%d", i)
		o.dur, o.outTok = 0.1, 100
		var v verdict
		e.observe(&o, srcTraces, &v)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.LessOrEqual(t, e.tab.len(), cfg.MaxKeys)
	assert.LessOrEqual(t, e.tab.bytes, cfg.MemoryBudgetMiB<<20)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(cfg.MaxKeys*2048+(4<<20)), "heap grew %d bytes for %d distinct keys", grown, n)

	// The memory budget caps keys below max_keys.
	cfg = defaultConfig()
	cfg.MemoryBudgetMiB = 1
	e = newEngine(cfg, nil)
	for i := 0; i < 50_000; i++ {
		o := newObs()
		o.t = t0.UnixNano()
		o.service, o.op, o.model, o.isInfer, o.dur = "svc", "chat", fmt.Sprintf("m%d", i), true, 0.1
		var v verdict
		e.observe(&o, srcTraces, &v)
	}
	assert.LessOrEqual(t, e.tab.bytes, 1<<20)
	assert.Greater(t, e.tab.len(), 500)
}

func TestIdleExpiry(t *testing.T) {
	cfg := defaultConfig()
	cfg.IdleTimeout = time.Hour
	h := newHarness(t, cfg)
	h.one(inference("old", t0, time.Second, nil))
	require.Equal(t, 2, h.e.tab.len()) // operation key and model key
	for i := 1; i <= 30; i++ {
		h.one(inference("new", t0.Add(time.Duration(i)*10*time.Minute), time.Second, nil))
	}
	assert.Equal(t, 2, h.e.tab.len(), "the idle model's keys expired")
}

func TestStatePerKeyAtMost1KiB(t *testing.T) {
	for _, k := range []uint8{kindOp, kindModel, kindService, kindCaller} {
		assert.LessOrEqual(t, entrySize(k), 1024, "kind %d", k)
	}
}

func TestSharedEngineLifecycle(t *testing.T) {
	f := NewFactory()
	set := processortest.NewNopSettings(Type)
	set.ID = component.NewIDWithName(Type, "lifecycle")
	cfg := defaultConfig()
	tp, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lp, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	shared.Lock()
	se := shared.m[set.ID]
	shared.Unlock()
	require.NotNil(t, se)
	assert.Equal(t, 2, se.refs)
	require.NoError(t, tp.Shutdown(context.Background()))
	require.NoError(t, tp.Shutdown(context.Background()), "a second shutdown is harmless")
	require.NoError(t, lp.Shutdown(context.Background()))
	shared.Lock()
	_, ok := shared.m[set.ID]
	shared.Unlock()
	assert.False(t, ok)

	bad := defaultConfig()
	bad.Warmup = 0
	_, err = f.CreateTraces(context.Background(), set, bad, consumertest.NewNop())
	assert.ErrorContains(t, err, "warmup")
}

func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, defaultConfig())
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(2)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				td := buildTraces(inference(fmt.Sprintf("m%d", i%3), t0.Add(time.Duration(i)*time.Second), 100*time.Millisecond,
					map[string]any{"enduser.pseudo.id": fmt.Sprintf("c%d", g)}))
				assert.NoError(t, h.tp.ConsumeTraces(context.Background(), td))
			}
		}(g)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				assert.NoError(t, h.lp.ConsumeLogs(context.Background(), event("mlx.inference.completed", t0.Add(time.Duration(i)*time.Second),
					map[string]any{"gen_ai.request.model": "m1", "gen_ai.usage.output_tokens": int64(i)})))
			}
		}()
	}
	wg.Wait()
}

func TestKeyAttributes(t *testing.T) {
	cfg := defaultConfig()
	cfg.KeyAttributes = []string{"deployment.environment"}
	h := newHarness(t, cfg)
	for _, env := range []string{"prod", "staging"} {
		s := inference("m", t0, time.Second, map[string]any{"deployment.environment": env})
		h.one(s)
	}
	assert.Equal(t, 4, h.e.tab.len(), "each environment has its own keys")
	at := t0
	var spans []span
	for i := 0; i < 300; i++ {
		at = t0.Add(time.Duration(i) * time.Second)
		spans = append(spans, inference("m", at, 100*time.Millisecond, map[string]any{"deployment.environment": "prod"}))
	}
	h.send(spans...)
	a := h.one(inference("m", at.Add(time.Second), 3*time.Second, map[string]any{"deployment.environment": "prod"}))
	require.True(t, flagged(a))
	assert.Equal(t, "svc/m/chat/prod", a[AttrKey])
}

func TestTelemetry(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxKeys = 3
	h := newHarness(t, cfg)
	h.one(load("m", "hf://a", "d1", "safetensors", t0))
	h.one(load("m", "hf://b", "d1", "safetensors", t0.Add(time.Hour)))
	for i := 0; i < 5; i++ {
		h.one(inference(fmt.Sprintf("x%d", i), t0.Add(2*time.Hour), time.Second, nil))
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					name := m.Name
					if v, ok := dp.Attributes.Value("type"); ok {
						name += "/" + v.AsString()
					}
					if v, ok := dp.Attributes.Value("reason"); ok {
						name += "/" + v.AsString()
					}
					got[name] += dp.Value
				}
			}
		}
	}
	assert.Equal(t, int64(3), got["otelcol_processor_mlxanomaly_keys"])
	assert.Equal(t, int64(1), got["otelcol_processor_mlxanomaly_flags/new_model_source"])
	assert.Greater(t, got["otelcol_processor_mlxanomaly_evictions/max_keys"], int64(0))
}

func TestFlagTypes(t *testing.T) {
	assert.Len(t, FlagTypes(), 10)
	for _, f := range FlagTypes() {
		assert.NotEmpty(t, Technique(f), f)
	}
	assert.Empty(t, Technique("nope"))
}

func TestFastLog(t *testing.T) {
	for _, x := range []float64{1e-300, 1e-9, 0.001, 0.5, 0.70710678, 1, 1.4142, 1.5, 2, 3, 1e3, 4 << 30, 1e300, math.MaxFloat64, 5e-324} {
		assert.InDelta(t, math.Log(x), fastLog(x), 1e-7*math.Max(1, math.Abs(math.Log(x))), "x=%v", x)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 100000; i++ {
		x := math.Exp(rng.NormFloat64() * 20)
		require.InDelta(t, math.Log(x), fastLog(x), 1e-7*math.Max(1, math.Abs(math.Log(x))))
	}
}

// A chat model whose duration varies several-fold with its token counts: a 1.8× slowdown for
// two hours is found on time per output token, and the clean hours before it raise nothing.
func TestLatencyPerTokenFindsSlowShift(t *testing.T) {
	h := newHarness(t, defaultConfig())
	rng := rand.New(rand.NewPCG(7, 7))
	req := func(at time.Time, slow float64) span {
		out := math.Round(150 * math.Exp(0.8*rng.NormFloat64()))
		in := math.Round(300 * math.Exp(0.8*rng.NormFloat64()))
		ttfc := slow * (0.02 + 0.0002*in) * math.Exp(0.1*rng.NormFloat64())
		tpot := slow * 0.004 * math.Exp(0.1*rng.NormFloat64())
		d := time.Duration((ttfc + (out+1)*tpot) * float64(time.Second))
		return inference("m", at, d, map[string]any{"gen_ai.usage.input_tokens": int64(in),
			"gen_ai.usage.output_tokens": int64(out + 1), "gen_ai.response.time_to_first_chunk": ttfc})
	}
	at := t0
	for i := 0; i < 6*360; i++ { // six hours, one request every 10 s
		at = at.Add(10 * time.Second)
		a := h.one(req(at, 1))
		require.False(t, flagged(a), "clean traffic flagged at %s: %v", at, a)
	}
	var got map[string]any
	shiftStart := at
	for i := 0; i < 2*360 && got == nil; i++ {
		at = at.Add(10 * time.Second)
		if a := h.one(req(at, 1.8)); flagged(a) {
			got = a
		}
	}
	require.NotNil(t, got, "a 1.8x slowdown for two hours went unflagged")
	assert.Contains(t, []string{"latency_shift", "latency_spike"}, got[AttrType])
	assert.Less(t, at.Sub(shiftStart), 10*time.Minute)
}

// On a key with a request every 15 seconds, the recent error rate over `window` requests takes
// some ten requests of a burst to fill; the binomial test of the recent run against the key's
// budget per request flags three or four errors in a row.
func TestErrorBurstOnASparseKey(t *testing.T) {
	h := newHarness(t, defaultConfig())
	at := t0
	for i := 0; i < 400; i++ {
		s := inference("sparse", at, 100*time.Millisecond, nil)
		s.err = i%100 == 50 // a 1 % baseline
		require.False(t, flagged(h.one(s)), "request %d", i)
		at = at.Add(15 * time.Second)
	}
	first := -1
	for i := 0; i < 10 && first < 0; i++ {
		s := inference("sparse", at, 100*time.Millisecond, nil)
		s.err = true
		if a := h.one(s); flagged(a) {
			first = i
			assert.Equal(t, "error_burst", a[AttrType])
			assert.InDelta(t, 1.0, a[AttrObserved].(float64), 1e-9, "the run's error fraction")
			assert.Less(t, a[AttrBaseline].(float64), 0.05)
		}
		at = at.Add(15 * time.Second)
	}
	// Three or four errors in a row (1 % of 400 requests is an uncertain base rate); the
	// recent-rate average alone needs some ten.
	assert.GreaterOrEqual(t, first, 2)
	assert.LessOrEqual(t, first, 3)
}

// A runaway generation behind long prompts: 25 times the usual output of a request with a
// prompt twenty times longer than its answer is about twice its usual total, inside the spread
// of totals; the output test of its own finds it.
func TestOutputTokenSpikeBehindLongPrompts(t *testing.T) {
	h := newHarness(t, defaultConfig())
	rng := rand.New(rand.NewPCG(5, 5))
	at := t0
	toks := func(out float64) map[string]any {
		return map[string]any{"gen_ai.usage.input_tokens": int64(2000 * math.Exp(0.3*rng.NormFloat64())),
			"gen_ai.usage.output_tokens": int64(out)}
	}
	for i := 0; i < 400; i++ {
		a := h.one(inference("chat", at, 100*time.Millisecond, toks(100*math.Exp(0.5*rng.NormFloat64()))))
		require.False(t, flagged(a), "request %d: %v", i, a)
		at = at.Add(10 * time.Second)
	}
	a := h.one(inference("chat", at, 100*time.Millisecond, toks(2500)))
	require.True(t, flagged(a), "%v", a)
	assert.Equal(t, "token_spike", a[AttrType])
	assert.Equal(t, 2500.0, a[AttrObserved])
	assert.InDelta(t, 100, a[AttrBaseline].(float64), 30)
	assert.Greater(t, a[AttrZScore].(float64), 4.5)
}

// Services export events sooner than spans, so a model's first item is often its
// mlx.inference.completed record, which carries no duration or memory: the spans that follow
// must still teach the operation and model keys their latency and memory baselines.
func TestSpansTeachKeysAnEventReachedFirst(t *testing.T) {
	h := newHarness(t, defaultConfig())
	a := h.sendLog(event("mlx.inference.completed", t0, map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "mlx", "gen_ai.request.model": "m",
		"gen_ai.usage.input_tokens": int64(200), "gen_ai.usage.output_tokens": int64(100),
	}))
	require.False(t, a.flagged(), "%v", a)
	at := h.warm("m", t0.Add(time.Second), 300)

	a2 := h.one(inference("m", at, 2*time.Second, outTokens(102)))
	require.True(t, flagged(a2), "%v", a2)
	assert.Equal(t, "latency_spike", a2[AttrType])
	a2 = h.one(inference("m", at.Add(time.Second), 100*time.Millisecond, map[string]any{"mlx.memory.peak": int64(8 << 30)}))
	require.True(t, flagged(a2), "%v", a2)
	assert.Equal(t, "memory_spike", a2[AttrType])
}

// A collector that restarts in front of a busy service has no population rate yet: the callers'
// first interval is counted, not tested, so a restart raises no flood of false floods; a flood
// after it is still found.
func TestNoFloodsFromAColdStart(t *testing.T) {
	h := newHarness(t, defaultConfig())
	var spans []span
	// 200 callers at 0.5 to 3 requests a second (mean about 1.3/s), for three minutes.
	for s := 0; s < 180; s++ {
		for c := 0; c < 200; c++ {
			per := 1 + c%6 // every per-th half second
			for half := 0; half < 2; half++ {
				if (2*s+half)%per == 0 {
					spans = append(spans, inference("m", t0.Add(time.Duration(2*s+half)*500*time.Millisecond), 100*time.Millisecond,
						map[string]any{"enduser.pseudo.id": fmt.Sprintf("caller-%d", c)}))
				}
			}
		}
	}
	for _, a := range h.send(spans...) {
		require.False(t, flagged(a) && a[AttrType] == "client_flood", "a busy caller flagged after a cold start: %v", a)
	}
	// Then one caller at 40 requests a second.
	start := t0.Add(4 * time.Minute)
	var got map[string]any
	for i := 0; i < 2400 && got == nil; i++ {
		a := h.one(inference("m", start.Add(time.Duration(i)*25*time.Millisecond), 100*time.Millisecond, map[string]any{"enduser.pseudo.id": "caller-7"}))
		if flagged(a) && a[AttrType] == "client_flood" {
			got = a
		}
	}
	require.NotNil(t, got, "the flood after the restart was not found")
	assert.Equal(t, "svc/caller-7", got[AttrKey])
}
