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
}

// Scenario is a generated run: its records in event-time order and its labels.
type Scenario struct {
	Config    Config
	Records   []Record
	Incidents []Incident
	// Keys is the number of detector keys the traffic has (operation, model, service and caller
	// keys), the denominator of false alarms per key-day.
	Keys int
}

type modelInfo struct {
	si                int
	service, name, op string
	lat, ttft, mem    float64
	inTok, outTok     float64
	source            string
	digests           []digestFrom // the model's digest over time, in order
	shift             []window     // latency multiplied
	errWin            []window
}

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
func diurnal(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 1 + 0.7*math.Sin(2*math.Pi*(h-9)/24)
}

// Generate builds a scenario. The same config gives the same scenario.
func Generate(c Config) *Scenario {
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	s := &Scenario{Config: c}
	end := c.Start.Add(time.Duration(c.Days) * 24 * time.Hour)
	ops := []string{mlxconv.OperationChat, mlxconv.OperationTextCompletion, mlxconv.OperationEmbeddings}
	var models []*modelInfo
	for si := 0; si < c.Services; si++ {
		svc := fmt.Sprintf("mlx-svc-%d", si)
		for mi := 0; mi < c.Models; mi++ {
			m := &modelInfo{si: si, service: svc, name: fmt.Sprintf("model-%d-%d", si, mi), op: ops[mi%len(ops)],
				lat: 0.2 + 0.3*float64(mi), ttft: 0.05 + 0.02*float64(mi), mem: float64(2+mi) * (1 << 30),
				inTok: 200 + 100*float64(mi), outTok: 150 + 50*float64(mi)}
			m.source = fmt.Sprintf("hf://org-%d/%s@rev%d", si, m.name, mi)
			m.digests = []digestFrom{{c.Start, fmt.Sprintf("%064x", rng.Uint64())}}
			models = append(models, m)
		}
	}
	users := make([][]string, c.Services)
	for si := range users {
		for u := 0; u < c.Callers; u++ {
			users[si] = append(users[si], fmt.Sprintf("caller-%d-%02d", si, u))
		}
	}
	s.Keys = len(models)*2 + c.Services + c.Services*c.Callers

	// Incidents: PerType of each type, spread evenly after the warm-up, each on a random key,
	// with at least the spacing below between incidents of one key so they do not overlap.
	spanAfter := end.Sub(c.Start.Add(c.Warmup)) - time.Hour
	slots := c.PerType * len(Types)
	type floodSpec struct {
		service int
		user    string
		from    time.Time
		to      time.Time
	}
	var floods []floodSpec
	var extra []Record
	for k := 0; k < slots && c.PerType > 0; k++ {
		typ := Types[k%len(Types)]
		at := c.Start.Add(c.Warmup + time.Duration(float64(spanAfter)*float64(k)/float64(slots)))
		at = at.Add(time.Duration(rng.IntN(60)) * time.Second)
		m := models[rng.IntN(len(models))]
		opKey := m.service + "/" + m.name + "/" + m.op
		modelKey := m.service + "/" + m.name
		inc := Incident{Type: typ, Start: at}
		switch typ {
		case LatencySpike:
			// Point incidents are explicit requests, so that a quiet hour still has them.
			inc.Key, inc.End, inc.Accept = opKey, at.Add(time.Minute), []string{LatencySpike, LatencyShift}
			for i := 0; i < 2; i++ {
				r := inferRecord(rng, m, at.Add(time.Duration(i)*5*time.Second), users[serviceIndex(m)][rng.IntN(c.Callers)])
				r.Dur *= 12
				extra = append(extra, r)
			}
		case LatencyShift:
			inc.Key, inc.End, inc.Accept = opKey, at.Add(30*time.Minute), []string{LatencyShift, LatencySpike}
			m.shift = append(m.shift, window{at, inc.End, 3})
		case ErrorBurst:
			inc.Key, inc.End, inc.Accept = opKey, at.Add(15*time.Minute), []string{ErrorBurst}
			m.errWin = append(m.errWin, window{at, inc.End, 0.6})
		case MemorySpike:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{MemorySpike}
			for i := 0; i < 2; i++ {
				r := inferRecord(rng, m, at.Add(time.Duration(i)*5*time.Second), users[serviceIndex(m)][rng.IntN(c.Callers)])
				r.Mem *= 3
				extra = append(extra, r)
			}
		case TokenSpike:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{TokenSpike}
			for i := 0; i < 2; i++ {
				r := inferRecord(rng, m, at.Add(time.Duration(i)*5*time.Second), users[serviceIndex(m)][rng.IntN(c.Callers)])
				r.OutTok *= 25
				r.Dur *= 12 // generating 25 times the tokens takes longer too
				extra = append(extra, r)
			}
		case NewModelSource:
			inc.Key, inc.End, inc.Accept = m.service, at.Add(time.Minute), []string{NewModelSource}
			r := loadRecord(rng, m, at)
			r.Source = fmt.Sprintf("https://mirror-%d.example.net/%s.safetensors", k, m.name)
			extra = append(extra, r)
		case DigestChanged:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{DigestChanged}
			// The tampered model stays: later loads and requests carry its digest.
			m.digests = append(m.digests, digestFrom{at, fmt.Sprintf("%064x", rng.Uint64())})
			extra = append(extra, loadRecord(rng, m, at))
		case BadFormat:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(time.Minute), []string{BadFormat}
			r := loadRecord(rng, m, at)
			r.Format, r.Decision, r.Err = mlxconv.FormatPickle, mlxconv.DecisionDeny, true
			extra = append(extra, r)
			extra = append(extra, Record{Kind: PolicyDenied, End: at.Add(time.Millisecond), Service: m.service,
				Model: m.name, Source: m.source, Format: mlxconv.FormatPickle, Decision: mlxconv.DecisionDeny, SpanID: r.SpanID, TraceID: r.TraceID})
		case ReloadStorm:
			inc.Key, inc.End, inc.Accept = modelKey, at.Add(5*time.Minute), []string{ReloadStorm}
			for i := 0; i < 8; i++ {
				extra = append(extra, loadRecord(rng, m, at.Add(time.Duration(i)*30*time.Second)))
			}
		case ClientFlood:
			si := rng.IntN(c.Services)
			u := users[si][rng.IntN(len(users[si]))]
			if rng.IntN(2) == 0 {
				u = fmt.Sprintf("scraper-%d", k) // a new caller
				s.Keys++
			}
			inc.Key, inc.End, inc.Accept = fmt.Sprintf("mlx-svc-%d/%s", si, u), at.Add(15*time.Minute), []string{ClientFlood}
			floods = append(floods, floodSpec{si, u, at, inc.End})
		}
		s.Incidents = append(s.Incidents, inc)
	}

	// Loads at start and a routine reload of every model every 8 hours.
	for _, m := range models {
		for t := c.Start.Add(time.Duration(rng.IntN(60)) * time.Second); t.Before(end); t = t.Add(8 * time.Hour) {
			s.Records = append(s.Records, loadRecord(rng, m, t))
		}
	}
	// Inference: a Poisson process with a diurnal rate, callers drawn with Zipf-like weights.
	weights := make([]float64, c.Callers)
	total := 0.0
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 0.8)
		total += weights[i]
	}
	pick := func() int {
		x := rng.Float64() * total
		for i, w := range weights {
			if x -= w; x <= 0 {
				return i
			}
		}
		return len(weights) - 1
	}
	maxRate := c.Rate * 1.7
	for t := c.Start; ; {
		t = t.Add(time.Duration(rng.ExpFloat64() / maxRate * float64(time.Second)))
		if !t.Before(end) {
			break
		}
		if rng.Float64() > diurnal(t)/1.7 { // thinning gives the diurnal rate
			continue
		}
		m := models[rng.IntN(len(models))]
		s.Records = append(s.Records, inferRecord(rng, m, t, users[serviceIndex(m)][pick()]))
	}
	for _, f := range floods {
		// 120 requests a minute from one caller, a scraping or extraction bot: at least 8 times
		// the busiest caller's peak rate.
		for t := f.from; t.Before(f.to); t = t.Add(500 * time.Millisecond) {
			ms := models[f.service*c.Models+rng.IntN(c.Models)]
			s.Records = append(s.Records, inferRecord(rng, ms, t, f.user))
		}
	}
	s.Records = append(s.Records, extra...)
	sort.SliceStable(s.Records, func(i, j int) bool { return s.Records[i].End.Before(s.Records[j].End) })
	return s
}

func serviceIndex(m *modelInfo) int { return m.si }

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

func inferRecord(rng *rand.Rand, m *modelInfo, t time.Time, user string) Record {
	sp, tr := ids(rng)
	in := m.inTok * math.Exp(0.4*rng.NormFloat64())
	out := m.outTok * math.Exp(0.4*rng.NormFloat64())
	lat := m.lat * (0.5 + out/m.outTok*0.5) * math.Exp(0.15*rng.NormFloat64())
	if f, ok := inWin(m.shift, t); ok {
		lat *= f
	}
	mem := m.mem * (1.05 + 0.02*rng.NormFloat64())
	errP := 0.01
	if f, ok := inWin(m.errWin, t); ok {
		errP = f
	}
	r := Record{Kind: Inference, End: t, Dur: time.Duration(lat * float64(time.Second)), Service: m.service,
		Model: m.name, Op: m.op, Mem: int64(mem), InTok: int64(in), OutTok: int64(out), User: user,
		Err: rng.Float64() < errP, Digest: m.digestAt(t), SpanID: sp, TraceID: tr}
	if m.op != mlxconv.OperationEmbeddings {
		r.TTFT = m.ttft * math.Exp(0.2*rng.NormFloat64())
	}
	return r
}

func inWin(ws []window, t time.Time) (float64, bool) { return in(ws, t) }
