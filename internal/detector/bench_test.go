package detector

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSignalObserve times one observation of one signal (plain profile with the spike test).
func BenchmarkSignalObserve(b *testing.B) {
	p := params()
	var s Signal
	rng := rand.New(rand.NewPCG(1, 1))
	xs := make([]float64, 1024)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Observe(int64(i), xs[i&1023], &p)
	}
}
