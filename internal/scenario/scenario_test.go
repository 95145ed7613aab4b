package scenario

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func small() Config {
	c := DefaultConfig()
	c.Days, c.Rate, c.PerType = 1, 0.2, 2
	return c
}

func TestGenerateDeterministicAndLabelled(t *testing.T) {
	a, b := Generate(small()), Generate(small())
	ra, rb := a.All(), b.All()
	require.Equal(t, ra, rb)
	assert.Equal(t, a.Incidents, b.Incidents)
	counts := map[string]int{}
	for _, in := range a.Incidents {
		counts[in.Type]++
		assert.False(t, in.Start.Before(a.Config.Start.Add(a.Config.Warmup)), "incidents come after the warm-up")
		assert.NotEmpty(t, in.Key)
		assert.Contains(t, in.Accept, in.Type)
	}
	for _, typ := range Types {
		assert.Equal(t, 2, counts[typ], typ)
	}
	for i := 1; i < len(ra); i++ {
		require.False(t, ra[i].End.Before(ra[i-1].End), "records are in event-time order")
	}
	c := small()
	c.PerType = 0
	assert.Empty(t, Generate(c).Incidents)
}

func TestDiurnalLoad(t *testing.T) {
	s := Generate(small())
	byHour := make([]int, 24)
	for _, r := range s.All() {
		if r.Kind == Inference {
			byHour[r.End.Hour()]++
		}
	}
	assert.Greater(t, byHour[15], 3*byHour[3], "afternoon peak, night trough")
}

func TestBatchesFollowTheContract(t *testing.T) {
	s := Generate(small())
	var spans, logs, records int
	names := map[string]bool{}
	require.NoError(t, s.Batches(time.Minute, func(td ptrace.Traces, ld plog.Logs) error {
		spans += td.SpanCount()
		logs += ld.LogRecordCount()
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			svc, ok := rs.Resource().Attributes().Get("service.name")
			require.True(t, ok)
			require.NotEmpty(t, svc.Str())
			sps := rs.ScopeSpans().At(0).Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				op, _ := sp.Attributes().Get("gen_ai.operation.name")
				model, _ := sp.Attributes().Get("gen_ai.request.model")
				require.Equal(t, op.Str()+" "+model.Str(), sp.Name())
				if op.Str() == "load_model" {
					for _, k := range []string{"mlx.model.source", "mlx.model.sha256", "mlx.model.format", "mlx.policy.decision"} {
						_, ok := sp.Attributes().Get(k)
						require.True(t, ok, k)
					}
				}
			}
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			lrs := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				names[lrs.At(k).EventName()] = true
			}
		}
		return nil
	}))
	for _, r := range s.All() {
		if r.Kind != PolicyDenied {
			records++
		}
	}
	assert.Equal(t, records, spans)
	assert.Greater(t, logs, 0)
	assert.True(t, names["mlx.model.load.succeeded"])
	assert.True(t, names["mlx.model.policy.denied"])
}

func TestEvaluate(t *testing.T) {
	s := Generate(small())
	var flags []Flag
	for _, in := range s.Incidents {
		flags = append(flags, Flag{T: in.Start.Add(30 * time.Second), Type: in.Accept[0], Key: in.Key})
	}
	// One stray flag after the warm-up, one during it.
	flags = append(flags, Flag{T: s.Config.Start.Add(20 * time.Hour), Type: "latency_spike", Key: "mlx-svc-0/nope/chat"})
	flags = append(flags, Flag{T: s.Config.Start.Add(time.Hour), Type: "latency_spike", Key: "mlx-svc-0/nope/chat"})
	rep := Evaluate(s, flags)
	for _, tr := range rep.Types {
		assert.Equal(t, 1.0, tr.Recall, tr.Type)
		assert.Equal(t, 30*time.Second, tr.MedianDelay, tr.Type)
	}
	assert.Equal(t, 1, rep.FalseAlarms)
	assert.Equal(t, 1, rep.WarmupFlags)
	assert.InDelta(t, 1/rep.KeyDays, rep.PerKeyDay, 1e-12)

	// A flag of the wrong type, or on another key, or too late, does not detect.
	in := s.Incidents[0]
	rep = Evaluate(s, []Flag{
		{T: in.Start, Type: "client_flood", Key: in.Key},
		{T: in.Start, Type: in.Accept[0], Key: in.Key + "x"},
		{T: in.End.Add(Grace + time.Second), Type: in.Accept[0], Key: in.Key},
	})
	assert.Equal(t, 0, rep.Types[0].Detected)
}
