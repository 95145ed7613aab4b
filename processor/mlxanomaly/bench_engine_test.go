package mlxanomaly

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEngineObserve times the detectors alone on one inference span's observation (no pdata).
func BenchmarkEngineObserve(b *testing.B) {
	e := newEngine(defaultConfig(), nil)
	obs := make([]obs, 600)
	for i := range obs {
		o := newObs()
		o.t = t0.UnixNano() + int64(i)*int64(100*time.Millisecond)
		o.service, o.op, o.model, o.user = "svc", "chat", fmt.Sprintf("m%d", i%6), fmt.Sprintf("u%d", i%50)
		o.isInfer, o.dur, o.ttft, o.mem, o.inTok, o.outTok = true, 0.2+0.01*float64(i%7), 0.05, 4e9, 200, 100+float64(i%13)
		obs[i] = o
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := obs[i%len(obs)]
		o.t += int64(i/len(obs)) * int64(time.Minute)
		var v verdict
		e.observe(&o, srcTraces, &v)
	}
}
