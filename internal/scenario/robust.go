package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Shape is one traffic shape of the robustness suite: a scenario configuration drawn at random
// within the ranges a deployment may have, and its incidents at a named strength.
type Shape struct {
	Name     string
	Strength string // "stated" (the strengths) or "weak"
	Config   Config
}

// Ranges of the robustness suite's random shapes.
const (
	MinCallers, MaxCallers = 5, 500
	MinRate, MaxRate       = 0.1, 100.0 // requests per second, all services together
)

// SparseCallers is the traffic the flood detector once paged on seventy times a day: one chat
// service, 40 callers with lognormal shares over two orders of magnitude, 10 to 25 requests a
// minute with a daily cycle of about ±45 %, a few hundred input tokens; its flood is one caller
// at 3 requests a second for 30 minutes.
func SparseCallers(seed uint64, days int) Shape {
	c := DefaultConfig()
	c.Seed, c.Days, c.Services, c.Models, c.Callers = seed, days, 1, 1, 40
	c.Rate, c.Diurnal, c.CallerSpread, c.TokenSigma = 0.29, 0.45, 1.2, 0.5
	c.PerType = 4
	c.Strength = Strength{LatencyShift: 1.8, ShiftFor: 2 * time.Hour, FloodRate: 3, FloodFor: 30 * time.Minute}
	return Shape{Name: fmt.Sprintf("sparse-callers/seed%d", seed), Strength: "stated", Config: c}
}

// RandomShape draws a traffic shape from seed: callers 5 to 500 (log-uniform) with lognormal or
// Zipf-like shares, a total rate of 0.1 to maxRate requests a second (log-uniform), a daily cycle
// of 0 to ±80 %, tokens per request with a log-spread of 0.2 to 1, one to three services of one
// to four models, time to first chunk under either name. Its incidents take strength strong
// ("stated": a 1.8× latency shift for two hours, a flood at 3 requests a second or 8 times the
// busiest caller's peak, whichever is more, for 30 minutes; "weak": a 1.5× shift, a flood at 4
// times the busiest caller's peak), each sized so that the key sees enough requests to tell.
func RandomShape(seed uint64, days int, maxRate float64, strength string) Shape {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	logU := func(lo, hi float64) float64 {
		return math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	}
	c := DefaultConfig()
	c.Seed, c.Days = seed, days
	c.Callers = int(math.Round(logU(MinCallers, MaxCallers)))
	c.Rate = logU(MinRate, math.Min(maxRate, MaxRate))
	c.Services = 1 + rng.IntN(3)
	c.Models = 1 + rng.IntN(4)
	if rng.IntN(4) > 0 {
		c.CallerSpread = 0.3 + 1.2*rng.Float64()
	}
	c.Diurnal = rng.Float64() * 0.8
	if c.Diurnal < 0.05 {
		c.Diurnal = -1 // flat
	}
	c.TokenSigma = 0.2 + 0.8*rng.Float64()
	c.LegacyTTFT = rng.IntN(2) == 0
	c.PerType = 3
	c.Strength = strengthFor(c, strength)
	name := fmt.Sprintf("s%d: %dx%d models, %d callers, %.2g req/s, cycle %.0f%%, tok-sd %.2f",
		seed, c.Services, c.Models, c.Callers, c.Rate, math.Max(c.Diurnal, 0)*100, c.TokenSigma)
	return Shape{Name: name, Strength: strength, Config: c}
}

// strengthFor sizes incidents for a shape: long enough for the affected key to see about 40
// requests, token spikes beyond the shape's natural spread of tokens, floods beyond its busiest
// caller.
func strengthFor(c Config, strength string) Strength {
	perKey := c.Rate / float64(c.Services*c.Models) // requests a second of one model (and operation)
	need := func(d time.Duration, reqs float64) time.Duration {
		return max(d, time.Duration(reqs/perKey*float64(time.Second)))
	}
	busiest := BusiestCallerRate(c)
	s := Strength{
		LatencySpike: 12, LatencyShift: 1.8, ShiftFor: need(2*time.Hour, 60),
		ErrorRate: 0.6, ErrorFor: need(15*time.Minute, 40),
		Memory: 3, Tokens: math.Max(25, math.Exp(7*c.TokenSigma)),
		FloodRate: math.Max(3, 8*busiest), FloodFor: 30 * time.Minute,
	}
	if strength == "weak" {
		s.LatencySpike, s.LatencyShift, s.ErrorRate, s.Memory = 6, 1.5, 0.3, 2
		s.Tokens = math.Max(10, math.Exp(5*c.TokenSigma))
		s.FloodRate = math.Max(1, 4*busiest)
	}
	if s.FloodRate > 10 {
		s.FloodFor = 5 * time.Minute // found within a minute or not at all; bounds the replay
	}
	return s
}
