// Package scenario generates MLX-like telemetry (diurnal load, several services, models and
// callers) following the otel-mlx data contract, with labelled injected incidents of every type
// the mlxanomaly processor detects, and scores a detector's flags against the labels: recall,
// false alarms per key-day and detection delay per incident type.
package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Incident types, as the processor names its flags.
const (
	LatencySpike   = mlxconv.AnomalyLatencySpike
	LatencyShift   = mlxconv.AnomalyLatencyShift
	ErrorBurst     = mlxconv.AnomalyErrorBurst
	NewModelSource = mlxconv.AnomalyNewModelSource
	DigestChanged  = mlxconv.AnomalyModelDigestChanged
	BadFormat      = mlxconv.AnomalyDisallowedFormat
	ReloadStorm    = mlxconv.AnomalyReloadStorm
	MemorySpike    = mlxconv.AnomalyMemorySpike
	TokenSpike     = mlxconv.AnomalyTokenSpike
	ClientFlood    = mlxconv.AnomalyClientFlood
)

// Types lists every incident type, in report order.
var Types = []string{LatencySpike, LatencyShift, ErrorBurst, NewModelSource, DigestChanged, BadFormat,
	ReloadStorm, MemorySpike, TokenSpike, ClientFlood}

// Incident is one labelled injected incident: a flag of one of Accept on Key between Start and
// End (plus the grace period) detects it.
type Incident struct {
	Type       string
	Key        string
	Start, End time.Time
	Accept     []string
}

// Config shapes a scenario.
type Config struct {
	Seed     uint64
	Start    time.Time
	Days     int
	Services int
	Models   int     // per service
	Callers  int     // per service
	Rate     float64 // mean inference requests per second over all services, before the diurnal factor
	// Warmup is the clean lead-in before the first incident.
	Warmup time.Duration
	// PerType is how many incidents of each type are injected (0: a clean run).
	PerType int
	// Types are the incident types injected; nil: every type.
	Types []string

	// CallerSpread is the standard deviation of the logarithm of the callers' weights
	// (lognormal shares); 0 gives Zipf-like weights 1/i^0.8.
	CallerSpread float64
	// Diurnal is the relative amplitude of the daily cycle of the request rate (0.7 when 0;
	// negative for none).
	Diurnal float64
	// TokenSigma is the standard deviation of the logarithm of tokens per request (0.4 when 0).
	TokenSigma float64
	// LegacyTTFT writes time to first chunk under its old name,
	// gen_ai.server.time_to_first_token, as instrumentation before the contract change did.
	LegacyTTFT bool
	// Strength sets the size of each incident type; zero fields take the defaults.
	Strength Strength
}

// Strength is how strong and how long injected incidents are.
type Strength struct {
	LatencySpike float64       // duration factor of two slow requests (12)
	LatencyShift float64       // latency factor of a shift (3)
	ShiftFor     time.Duration // length of a shift (30m)
	ErrorRate    float64       // error rate of a burst (0.6)
	ErrorFor     time.Duration // length of a burst (15m)
	Memory       float64       // memory factor of two requests (3)
	Tokens       float64       // output-token factor of two requests (25)
	FloodRate    float64       // requests per second of a flooding caller (2)
	FloodFor     time.Duration // length of a flood (15m)
}

func (s Strength) withDefaults() Strength {
	def := func(x *float64, d float64) {
		if *x == 0 {
			*x = d
		}
	}
	defd := func(x *time.Duration, d time.Duration) {
		if *x == 0 {
			*x = d
		}
	}
	def(&s.LatencySpike, 12)
	def(&s.LatencyShift, 3)
	defd(&s.ShiftFor, 30*time.Minute)
	def(&s.ErrorRate, 0.6)
	defd(&s.ErrorFor, 15*time.Minute)
	def(&s.Memory, 3)
	def(&s.Tokens, 25)
	def(&s.FloodRate, 2)
	defd(&s.FloodFor, 15*time.Minute)
	return s
}

// DefaultConfig is the suite `make eval` and the tests run.
func DefaultConfig() Config {
	return Config{Seed: 1, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Days: 3, Services: 2, Models: 3,
		Callers: 24, Rate: 1.5, Warmup: 6 * time.Hour, PerType: 20}
}

// Kind of a generated record.
type Kind uint8

// Record kinds.
const (
	Inference Kind = iota + 1
	Load
	PolicyDenied // a log record only
)

// Record is one operation: a span, plus a log record for loads and denials.
type Record struct {
	Kind       Kind
	End        time.Time
	Dur        time.Duration
	Service    string
	Model      string
	Op         string
	TTFT       float64 // seconds, 0 when absent
	Mem        int64
	InTok      int64
	OutTok     int64
	User       string
	Err        bool
	Source     string
	Digest     string
	Format     string
	Decision   string
	SpanID     [8]byte
	TraceID    [16]byte
	WithLogRec bool // also emit the security event of this operation
	LegacyTTFT bool // TTFT under gen_ai.server.time_to_first_token
}

// Scenario is a generated run: its labels, and its records in event-time order through Each
// (generated on the fly, so a day at 100 requests a second does not sit in memory).
type Scenario struct {
	Config    Config
	Incidents []Incident
	// Keys is the number of detector keys the traffic has (operation, model, service and caller
	// keys), the denominator of false alarms per key-day.
	Keys int

	models  []*modelInfo
	users   [][]string
	weights [][]float64 // cumulative caller weights per service
	fixed   []Record    // loads and the records of point incidents, sorted
	floods  []floodSpec
	end     time.Time
	diurnal float64
	tokSig  float64
	str     Strength
}

type floodSpec struct {
	service  int
	user     string
	from, to time.Time
	every    time.Duration
}

type modelInfo struct {
	si                int
	service, name, op string
	lat, ttft, tpot   float64 // mean duration; time to first chunk and per output token (generative)
	mem               float64
	inTok, outTok     float64
	source            string
	digests           []digestFrom // the model's digest over time, in order
	shift             []window     // latency multiplied
	errWin            []window
}

func (m *modelInfo) generative() bool { return m.op != mlxconv.OperationEmbeddings }

type digestFrom struct {
	from time.Time
	d    string
}

func (m *modelInfo) digestAt(t time.Time) string {
	d := m.digests[0].d
	for _, x := range m.digests[1:] {
		if !t.Before(x.from) {
			d = x.d
		}
	}
	return d
}

type window struct {
	from, to time.Time
	factor   float64
}

func in(ws []window, t time.Time) (float64, bool) {
	for _, w := range ws {
		if !t.Before(w.from) && t.Before(w.to) {
			return w.factor, true
		}
	}
	return 1, false
}

// diurnal is the load factor at t: low at night, a peak in the afternoon (UTC).
func (s *Scenario) diurnalAt(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 1 + s.diurnal*math.Sin(2*math.Pi*(h-9)/24)
}

// Generate builds a scenario. The same config gives the same scenario.
func Generate(c Config) *Scenario {
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	s := &Scenario{Config: c, str: c.Strength.withDefaults(), diurnal: c.Diurnal, tokSig: c.TokenSigma}
	if s.diurnal == 0 {
		s.diurnal = 0.7
	}
	s.diurnal = math.Max(0, math.Min(s.diurnal, 0.95))
	if s.tokSig == 0 {
		s.tokSig = 0.4
	}
	types := c.Types
	if types == nil {
		types = Types
	}
	s.end = c.Start.Add(time.Duration(c.Days) * 24 * time.Hour)
	ops := []string{mlxconv.OperationChat, mlxconv.OperationTextCompletion, mlxconv.OperationEmbeddings}
	for si := 0; si < c.Services; si++ {
		svc := fmt.Sprintf("mlx-svc-%d", si)
		for mi := 0; mi < c.Models; mi++ {
			m := &modelInfo{si: si, service: svc, name: fmt.Sprintf("model-%d-%d", si, mi), op: ops[mi%len(ops)],
				lat: 0.2 + 0.3*float64(mi), ttft: 0.05 + 0.02*float64(mi), mem: float64(2+mi) * (1 << 30),
				inTok: 200 + 100*float64(mi), outTok: 150 + 50*float64(mi)}
			m.tpot = m.lat / m.outTok
			m.source = fmt.Sprintf("hf://org-%d/%s@rev%d", si, m.name, mi)
			m.digests = []digestFrom{{c.Start, fmt.Sprintf("%064x", rng.Uint64())}}
			s.models = append(s.models, m)
		}
	}
	s.users = make([][]string, c.Services)
	s.weights = make([][]float64, c.Services)
	for si := range s.users {
		total := 0.0
		for u := 0; u < c.Callers; u++ {
			s.users[si] = append(s.users[si], fmt.Sprintf("caller-%d-%02d", si, u))
			w := 1 / math.Pow(float64(u+1), 0.8)
			if c.CallerSpread > 0 {
				w = math.Exp(c.CallerSpread * rng.NormFloat64())
			}
			total += w
			s.weights[si] = append(s.weights[si], total)
		}
		for u := range s.weights[si] {
			s.weights[si][u] /= total
		}
	}
	s.Keys = len(s.models)*2 + c.Services + c.Services*c.Callers

	// Incidents: PerType of each type, spread evenly after the warm-up, each on a random key.
	spanAfter := s.end.Sub(c.Start.Add(c.Warmup)) - time.Hour
	slots := c.PerType * len(types)
	st := s.str
	for k := 0; k < slots && c.PerType > 0; k++ {
		typ := types[k%len(types)]
		at := c.Start.Add(c.Warmup + time.Duration(float64(spanAfter)*float64(k)/float64(slots)))
		at = at.Add(time.Duration(rng.IntN(60)) * time.Second)
		m := s.models[rng.IntN(len(s.models))]
		opKey := m.service + "/" + m.name + "/" + m.op
		modelKey := m.service + "/" + m.name
		inc := Incident{Type: typ, Start: at}
		caller := func() string { return s.users[m.si][rng.IntN(c.Callers)] }
		switch typ {
		case LatencySpike:
			// Point incidents are explicit requests, so that a quiet hour still has them.
			inc.Key, inc.End, inc.Accept = opKey, at.Add(time.Minute), []string{LatencySpike, LatencyShift}
			for i := 0; i < 2; i++ {
				r := s.inferRecord(rng, m, at.Add(time.Duration(i)*5*time.Second), caller())
				r.Dur = time.Duration(float64(r.Dur) * st.LatencySpike)
				s.fixed = append(s.fixed, r)
			}
		case LatencyShift:
			inc.Key, inc.End, inc.Accept = opKey, at.Add(st.ShiftFor), []string{LatencyShift, LatencySpike}
			m.shift = append(m.shift, window{at, inc.End, st.LatencyShift})
		case ErrorBurst:
			inc.Key, inc.End, inc.Accept = opKey, at.Add(st.ErrorFor), []string{ErrorBurst}
			m.errWin = append(m.errWin, window{at, inc.End, st.ErrorRate})
		case MemorySpike:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{MemorySpike}
			for i := 0; i < 2; i++ {
				r := s.inferRecord(rng, m, at.Add(time.Duration(i)*5*time.Second), caller())
				r.Mem = int64(float64(r.Mem) * st.Memory)
				s.fixed = append(s.fixed, r)
			}
		case TokenSpike:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{TokenSpike}
			for i := 0; i < 2; i++ {
				r := s.inferRecord(rng, m, at.Add(time.Duration(i)*5*time.Second), caller())
				if m.generative() {
					// Generating more tokens takes longer, at the model's usual pace.
					ttft := time.Duration(r.TTFT * float64(time.Second))
					r.OutTok = int64(float64(r.OutTok) * st.Tokens)
					r.Dur = ttft + time.Duration(float64(r.Dur-ttft)*st.Tokens)
				} else {
					r.InTok = int64(float64(r.InTok) * st.Tokens)
				}
				s.fixed = append(s.fixed, r)
			}
		case NewModelSource:
			inc.Key, inc.End, inc.Accept = m.service, at.Add(time.Minute), []string{NewModelSource}
			r := loadRecord(rng, m, at)
			r.Source = fmt.Sprintf("https://mirror-%d.example.net/%s.safetensors", k, m.name)
			s.fixed = append(s.fixed, r)
		case DigestChanged:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{DigestChanged}
			// The tampered model stays: later loads and requests carry its digest.
			m.digests = append(m.digests, digestFrom{at, fmt.Sprintf("%064x", rng.Uint64())})
			s.fixed = append(s.fixed, loadRecord(rng, m, at))
		case BadFormat:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{BadFormat}
			r := loadRecord(rng, m, at)
			r.Format, r.Decision, r.Err = mlxconv.FormatPickle, mlxconv.DecisionDeny, true
			s.fixed = append(s.fixed, r)
			s.fixed = append(s.fixed, Record{Kind: PolicyDenied, End: at.Add(time.Millisecond), Service: m.service,
				Model: m.name, Source: m.source, Format: mlxconv.FormatPickle, Decision: mlxconv.DecisionDeny, SpanID: r.SpanID, TraceID: r.TraceID})
		case ReloadStorm:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(5*time.Minute), []string{ReloadStorm}
			for i := 0; i < 8; i++ {
				s.fixed = append(s.fixed, loadRecord(rng, m, at.Add(time.Duration(i)*30*time.Second)))
			}
		case ClientFlood:
			si := rng.IntN(c.Services)
			u := s.users[si][rng.IntN(len(s.users[si]))]
			if rng.IntN(2) == 0 {
				u = fmt.Sprintf("scraper-%d", k) // a new caller
				s.Keys++
			}
			inc.Key, inc.End, inc.Accept = fmt.Sprintf("mlx-svc-%d/%s", si, u), at.Add(st.FloodFor), []string{ClientFlood}
			s.floods = append(s.floods, floodSpec{si, u, at, inc.End, time.Duration(float64(time.Second) / st.FloodRate)})
		}
		s.Incidents = append(s.Incidents, inc)
	}

	// Loads at start and a routine reload of every model every 8 hours.
	for _, m := range s.models {
		for t := c.Start.Add(time.Duration(rng.IntN(60)) * time.Second); t.Before(s.end); t = t.Add(8 * time.Hour) {
			s.fixed = append(s.fixed, loadRecord(rng, m, t))
		}
	}
	sort.SliceStable(s.fixed, func(i, j int) bool { return s.fixed[i].End.Before(s.fixed[j].End) })
	return s
}

// BusiestCallerRate is the peak request rate per second of the scenario's busiest regular caller,
// the yardstick of a flood's strength.
func BusiestCallerRate(c Config) float64 {
	s := Generate(Config{Seed: c.Seed, Start: c.Start, Days: 1, Services: c.Services, Models: c.Models,
		Callers: c.Callers, Rate: c.Rate, CallerSpread: c.CallerSpread, Diurnal: c.Diurnal})
	maxShare := 0.0
	for _, w := range s.weights {
		prev := 0.0
		for _, cum := range w {
			maxShare = math.Max(maxShare, cum-prev)
			prev = cum
		}
	}
	return c.Rate / float64(max(c.Services, 1)) * maxShare * (1 + s.diurnal)
}

// Each calls fn with every record in event-time order: the inference traffic (a Poisson process
// with the diurnal rate, callers drawn by weight), the floods, loads and point incidents. It
// stops at the first error.
func (s *Scenario) Each(fn func(r *Record) error) error {
	c := s.Config
	rng := rand.New(rand.NewPCG(c.Seed^0x51ed27, c.Seed+7))
	maxRate := c.Rate * (1 + s.diurnal)
	next := func(t time.Time) (time.Time, bool) {
		for {
			if maxRate <= 0 {
				return s.end, false
			}
			t = t.Add(time.Duration(rng.ExpFloat64() / maxRate * float64(time.Second)))
			if !t.Before(s.end) {
				return s.end, false
			}
			if rng.Float64() <= s.diurnalAt(t)/(1+s.diurnal) { // thinning gives the diurnal rate
				return t, true
			}
		}
	}
	bg, bgOK := next(c.Start)
	fi := 0
	floodAt := make([]time.Time, len(s.floods))
	for i, f := range s.floods {
		floodAt[i] = f.from
	}
	for {
		// The earliest of: the next background request, the next fixed record, each flood's next.
		best, kind := s.end, -3
		if bgOK {
			best, kind = bg, -1
		}
		if fi < len(s.fixed) && s.fixed[fi].End.Before(best) {
			best, kind = s.fixed[fi].End, -2
		}
		for i, f := range s.floods {
			if floodAt[i].Before(f.to) && floodAt[i].Before(best) {
				best, kind = floodAt[i], i
			}
		}
		var r Record
		switch {
		case kind == -3:
			return nil
		case kind == -1:
			m := s.models[rng.IntN(len(s.models))]
			r = s.inferRecord(rng, m, bg, s.users[m.si][s.pick(rng, m.si)])
			bg, bgOK = next(bg)
		case kind == -2:
			r = s.fixed[fi]
			fi++
		default:
			f := s.floods[kind]
			m := s.models[f.service*c.Models+rng.IntN(c.Models)]
			r = s.inferRecord(rng, m, floodAt[kind], f.user)
			floodAt[kind] = floodAt[kind].Add(f.every)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
}

// All returns every record (small scenarios and tests).
func (s *Scenario) All() []Record {
	var out []Record
	_ = s.Each(func(r *Record) error { out = append(out, *r); return nil })
	return out
}

func (s *Scenario) pick(rng *rand.Rand, si int) int {
	x := rng.Float64()
	w := s.weights[si]
	i := sort.SearchFloat64s(w, x)
	return min(i, len(w)-1)
}

func ids(rng *rand.Rand) (span [8]byte, trace [16]byte) {
	a, b, c := rng.Uint64(), rng.Uint64(), rng.Uint64()|1
	for i := 0; i < 8; i++ {
		span[i] = byte(c >> (8 * i))
		trace[i] = byte(a >> (8 * i))
		trace[8+i] = byte(b >> (8 * i))
	}
	return span, trace
}

func loadRecord(rng *rand.Rand, m *modelInfo, t time.Time) Record {
	sp, tr := ids(rng)
	d := time.Duration((2 + rng.Float64()) * float64(time.Second))
	return Record{Kind: Load, End: t, Dur: d, Service: m.service, Model: m.name, Op: mlxconv.OperationLoadModel,
		Mem: int64(m.mem * (1 + 0.01*rng.NormFloat64())), Source: m.source, Digest: m.digestAt(t),
		Format: mlxconv.FormatSafetensors, Decision: mlxconv.DecisionAllow, SpanID: sp, TraceID: tr, WithLogRec: true}
}

// inferRecord is one request. Generative operations take a time to first chunk that grows with
// the input (prefill) and then a time per output token (decode), so their duration varies
// several-fold with the token counts; embeddings take a time that grows mildly with the input.
func (s *Scenario) inferRecord(rng *rand.Rand, m *modelInfo, t time.Time, user string) Record {
	sp, tr := ids(rng)
	sig := s.tokSig
	in := math.Max(1, math.Round(m.inTok*math.Exp(sig*rng.NormFloat64()-sig*sig/2)))
	f, _ := in2(m.shift, t)
	mem := m.mem * (1.05 + 0.02*rng.NormFloat64())
	errP := 0.01
	if e, ok := in2(m.errWin, t); ok {
		errP = e
	}
	r := Record{Kind: Inference, End: t, Service: m.service, Model: m.name, Op: m.op, Mem: int64(mem),
		InTok: int64(in), User: user, Err: rng.Float64() < errP, Digest: m.digestAt(t), SpanID: sp, TraceID: tr,
		LegacyTTFT: s.Config.LegacyTTFT}
	if m.generative() {
		out := math.Max(1, math.Round(m.outTok*math.Exp(sig*rng.NormFloat64()-sig*sig/2)))
		ttft := f * m.ttft * (0.3 + 0.7*in/m.inTok) * math.Exp(0.1*rng.NormFloat64())
		tpot := f * m.tpot * math.Exp(0.1*rng.NormFloat64())
		r.OutTok, r.TTFT = int64(out), ttft
		r.Dur = time.Duration((ttft + out*tpot) * float64(time.Second))
	} else {
		lat := f * m.lat * (0.7 + 0.3*in/m.inTok) * math.Exp(0.15*rng.NormFloat64())
		r.Dur = time.Duration(lat * float64(time.Second))
	}
	return r
}

func in2(ws []window, t time.Time) (float64, bool) { return in(ws, t) }
