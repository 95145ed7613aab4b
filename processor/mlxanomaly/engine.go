package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/internal/detector"
)

// obs is what one span or log record tells the detectors. Strings point into pdata; nothing is
// copied unless the item is flagged.
type obs struct {
	t                       int64 // event time, ns since the epoch
	service, model, op      string
	source, digest, format  string
	decision, user          string
	extra                   [maxKeyAttrs]string
	dur, ttft, mem          float64 // NaN when absent
	inTok, outTok           float64 // NaN when absent
	spanID                  uint64  // 0 when absent
	hService, hModel        uint64  // key hashes, set by keyHashes
	hOp, hCaller            uint64
	hs                      uint64 // hash of service and extra key attributes, when hsSet
	hsSet                   bool   // hs is valid (set once per resource, cleared by an item's own extra key attribute)
	isErr, isLoad, isInfer  bool
	denied, integrityFailed bool
}

func newObs() obs {
	nan := math.NaN()
	return obs{dur: nan, ttft: nan, mem: nan, inTok: nan, outTok: nan}
}

// verdict collects the scores of one item. Every detector that finds the item anomalous and
// whose (key, type) is out of cool-down proposes a flag; the proposal of the highest rank, then
// the highest score, is the item's flag, and only its cool-down starts, so a type that lost on
// this item can still flag the next one.
type verdict struct {
	score       float64
	flag        flagType
	flagScore   float64
	keyKind     uint8
	z, baseline float64
	hasZ        bool
	logBase     bool  // baseline is in log units
	anomRank    uint8 // highest rank of a detector that found the item anomalous
	deb         *detector.Debounce
	// The evidence of the flag: the observed value (in the baseline's unit) and the tail
	// probability, where the detector has them.
	observed float64
	p        float64
	hasObs   bool
	hasP     bool
	hasBase  bool // baseline is set (with or without a z-score)
}

// flagRank orders flag types when one item has several: the more specific cause names the item
// (a request with 25 times the tokens is also slow; token_spike says why).
var flagRank = [numFlagTypes]uint8{
	flagNewModelSource: 3, flagModelDigestChanged: 3, flagDisallowedFormat: 3,
	flagReloadStorm: 2, flagMemorySpike: 2, flagTokenSpike: 2, flagClientFlood: 2,
	flagLatencyShift: 1, flagLatencySpike: 1, flagErrorBurst: 1,
}

// consider records one detector's score for the item and proposes a flag when it reaches the
// threshold and deb is out of cool-down.
func (e *engine) consider(v *verdict, t int64, score float64, ft flagType, keyKind uint8, z, baseline float64, hasZ bool, deb *detector.Debounce) bool {
	if score > v.score {
		v.score = score
	}
	if score < e.cfg.FlagThreshold {
		return false
	}
	if r := flagRank[ft]; r > v.anomRank {
		v.anomRank = r
	}
	if v.flag != flagNone {
		if r, cur := flagRank[ft], flagRank[v.flag]; r < cur || (r == cur && score <= v.flagScore) {
			return false
		}
	}
	if !deb.Ready(t, e.cooldown, e.cfg.CooldownObservations) {
		return false
	}
	v.flag, v.flagScore, v.keyKind = ft, score, keyKind
	v.z, v.baseline, v.hasZ, v.deb = z, baseline, hasZ, deb
	v.logBase = ft == flagLatencyShift || ft == flagLatencySpike || ft == flagMemorySpike || ft == flagTokenSpike
	v.hasObs, v.hasP, v.hasBase = false, false, hasZ
	return true
}

// engine holds the detector state of one processor configuration; the traces and logs
// processors built from the same component share it.
type engine struct {
	mu          sync.Mutex
	cfg         Config
	latency     detector.SignalParams
	memory      detector.SignalParams
	tokens      detector.SignalParams
	tab         *table
	wm          int64   // event-time watermark: newest plausible timestamp seen
	logAlpha    float64 // log of client_flood.tail_probability
	seed        maphash.Seed
	disallowed  []string
	cooldown    int64
	skew        int64
	reloadWin   int64
	floodIv     int64
	tel         *telemetry
	errFastRate float64
	errSlowRate float64
}

func sens(c SignalConfig) float64 {
	if c.Sensitivity <= 0 {
		return 1
	}
	return c.Sensitivity
}

func signalParams(warmup int, c SignalConfig) detector.SignalParams {
	return detector.Profile(warmup, c.Sensitivity, c.Seasonal, true)
}

// latencySpikeZ: see newEngine.
const latencySpikeZ = 8.0

func newEngine(cfg *Config, tel *telemetry) *engine {
	e := &engine{cfg: *cfg, tel: tel, seed: maphash.MakeSeed()}
	e.latency = signalParams(cfg.Warmup, cfg.Latency)
	e.memory = signalParams(cfg.Warmup, cfg.Memory)
	e.tokens = signalParams(cfg.Warmup, cfg.Tokens)
	// Latency is the sum of work of varying size (prefill of the input, queueing), so its
	// log-scale distribution has a longer right tail than a normal law: one request needs 8
	// robust deviations to be a spike (a busy key makes ten million observations a day, and
	// the tail of the work sizes puts ordinary requests beyond 6). Tokens and memory are
	// counted, not timed: 6 deviations, a one-sided normal tail of 1e-9.
	e.latency.SpikeZ = latencySpikeZ / sens(cfg.Latency)
	e.latency.Prepare()
	for _, f := range cfg.SupplyChain.DisallowedFormats {
		e.disallowed = append(e.disallowed, strings.ToLower(strings.TrimSpace(f)))
	}
	e.cooldown = int64(cfg.Cooldown)
	e.skew = int64(cfg.MaxClockSkew)
	e.reloadWin = int64(cfg.ReloadStorm.Window)
	e.floodIv = int64(cfg.ClientFlood.Interval)
	e.logAlpha = math.Log(max(cfg.ClientFlood.TailProbability, 1e-300))
	if cfg.ErrorBurst.Window > 0 {
		e.errFastRate = 1 / float64(cfg.ErrorBurst.Window)
		e.errSlowRate = e.errFastRate / 10
	}
	budget := cfg.MemoryBudgetMiB << 20
	var onEvict func(string)
	if tel != nil {
		onEvict = tel.evicted
	}
	e.tab = newTable(cfg.MaxKeys, budget, int64(cfg.IdleTimeout), onEvict)
	return e
}

// mix combines two 64-bit hashes (a multiply-xorshift finalizer, order-sensitive).
func mix(a, b uint64) uint64 {
	h := a ^ (b + 0x9e3779b97f4a7c15 + (a << 6) + (a >> 2))
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// keyHashes computes the four key hashes of an item once: the service (with the extra key
// attributes), then the model, operation and caller keys derived from it. Each string is hashed
// once with the engine's random seed, so keys cannot be chosen to collide.
func (e *engine) keyHashes(o *obs) {
	hs := o.hs
	if !o.hsSet {
		hs = e.serviceHash(o)
	}
	o.hService = mix(hs, uint64(kindService))
	hm := mix(hs, maphash.String(e.seed, o.model))
	o.hModel = mix(hm, uint64(kindModel))
	o.hOp = mix(mix(hm, maphash.String(e.seed, o.op)), uint64(kindOp))
	o.hCaller = mix(mix(hs, maphash.String(e.seed, o.user)), uint64(kindCaller))
}

// serviceHash is the hash of the service key: the service name and the extra key attributes.
// The processors compute it once per resource.
func (e *engine) serviceHash(o *obs) uint64 {
	hs := maphash.String(e.seed, o.service)
	for i := range e.cfg.KeyAttributes {
		hs = mix(hs, maphash.String(e.seed, o.extra[i]))
	}
	return hs
}

func (e *engine) entry(kind uint8, h uint64, t int64, src uint8) (*entry, bool) {
	en, created := e.tab.get(h, kind, e.wm)
	if created && e.tel != nil {
		e.tel.keyAdded()
	}
	switch {
	case en.src == 0:
		en.src = src
	case en.src == srcLogs && src == srcTraces && (kind == kindOp || kind == kindModel):
		// Spans carry what log records lack (duration, time to first chunk, memory), so an
		// operation or model key that a log record happened to reach first learns from spans
		// from the first one on; otherwise, with events exported sooner than spans, such a key
		// never learns a latency or memory baseline. Callers and sources keep their first
		// signal: both signals count their requests and loads alike.
		en.src = srcTraces
	}
	if t > en.last {
		en.last = t
	}
	return en, en.src == src
}

// eventTime turns an item's timestamp into the time the detectors use: a timestamp far ahead of
// the newest one seen is clamped, a missing one takes the watermark.
func (e *engine) eventTime(t int64) int64 {
	switch {
	case t <= 0:
		return e.wm
	case e.wm == 0 || t <= e.wm:
		if t > e.wm {
			e.wm = t
		}
		return t
	case t-e.wm > e.skew:
		return e.wm
	default:
		e.wm = t
		return t
	}
}

func tod(t int64) int64 { return (t / 1e9) % 86400 }

// fastLog is ln(x) for finite x > 0 to about 1e-10 absolute, several times faster than
// math.Log and without a division: x = m·2^e with m in [1, 2); the top logBits bits of m pick
// c ≈ 1/m from a table that also holds ln(1/c), so that ln(m) = ln(1/c) + ln(1+r) with
// r = m·c-1 and |r| < 2^-logBits, where four terms of the series of ln(1+r) suffice. The
// detectors need log-scale differences of a few percent, not full precision.
func fastLog(x float64) float64 {
	b := math.Float64bits(x)
	e := int((b>>52)&0x7ff) - 1023
	if e == -1023 || e == 1024 { // subnormal, Inf or NaN: rare, take the exact path
		return math.Log(x)
	}
	t := &logTab[(b>>(52-logBits))&(1<<logBits-1)]
	m := math.Float64frombits(b&^(0x7ff<<52) | 1023<<52) // in [1, 2)
	r := m*t.inv - 1
	return float64(e)*math.Ln2 + t.log + r*(1-r*(0.5-r*(1.0/3-r*0.25)))
}

const logBits = 7

// logTab[i] holds, for the mantissas whose top bits are i, the inverse of the middle of their
// interval and its negated logarithm.
var logTab = func() (t [1 << logBits]struct{ inv, log float64 }) {
	for i := range t {
		t[i].inv = 1 / (1 + (float64(i)+0.5)/(1<<logBits))
		t[i].log = -math.Log(t[i].inv)
	}
	return t
}()

// observeSignal scores a positive quantity x on sig, learning it only when learn is set.
// Durations, token counts and memory are multiplicative by nature (heavy right tails), so the
// detectors work on log(x): a doubling is the same surprise for a fast and a slow model, and
// ordinary long requests do not look like outliers. The baseline it returns is in log units;
// write converts the flagged item's baseline back to x's unit (exp is not free per item).
func observeSignal(sig *detector.Signal, t int64, x float64, p *detector.SignalParams, learn bool, r *detector.SignalResult) {
	if !(x > 0) {
		*r = detector.SignalResult{}
		return
	}
	lx := fastLog(x)
	var td int64 // the time of day matters to the seasonal model only; it costs two divisions
	if p.SeasonSelect > 0 {
		td = tod(t)
	}
	if learn {
		sig.ObserveInto(td, lx, p, r)
		return
	}
	cp := *sig
	cp.ObserveInto(td, lx, p, r)
	// r.Baseline is in log units; the caller converts it when it flags.
}

// observe runs every detector that applies to o and fills v. The caller holds e.mu.
func (e *engine) observe(o *obs, src uint8, v *verdict) {
	o.t = e.eventTime(o.t)
	e.tab.expire(e.wm)
	e.keyHashes(o)
	// Supply chain first: on a tie its flag names the item.
	if o.isLoad && e.cfg.SupplyChain.Enabled && o.source != "" {
		e.observeSource(o, src, v)
	}
	if o.model != "" || o.isLoad {
		e.observeModel(o, src, v)
	}
	if o.op != "" || o.isLoad || o.isInfer {
		e.observeOp(o, src, v)
	}
	if o.isInfer && o.user != "" && e.cfg.ClientFlood.Enabled {
		e.observeCaller(o, src, v)
	}
	// An item that a more specific detector finds anomalous belongs to that incident even when
	// its flag is in cool-down: a lesser type does not flag it (the slow request with 25 times
	// the tokens is a token_spike already reported, not a new latency_spike).
	if v.flag != flagNone && flagRank[v.flag] < v.anomRank {
		v.flag = flagNone
	}
	if v.flag != flagNone {
		v.deb.Mark(o.t)
		if e.tel != nil {
			e.tel.flagged(v.flag)
		}
	}
}

// Latency per unit of work. A request's duration grows with the work it does (the tokens it
// reads and generates), which varies several-fold between requests, so a slowdown drowns in the
// spread of raw durations. The duration detector of a key judges, by what the items carry:
//   - latTPOT: decode time per output token, (duration - time to first chunk) / output tokens,
//     for generative requests that streamed;
//   - latWork: duration relative to what this much work usually takes, from a per-key linear
//     model duration ≈ c0 + c1·work fitted online (work: output tokens of a generative request,
//     input tokens otherwise), for requests with token counts but no first chunk;
//   - latRaw: the duration itself.
//
// A key judges one of them: the first its items allow, upgraded (baseline restarted) when a
// richer one appears; an item that allows only a poorer one is not judged on duration.
const (
	latNone uint8 = iota
	latRaw
	latWork
	latTPOT
)

// workAlpha is the learning rate of the work model after its first 1/workAlpha items.
const workAlpha = 0.002

// workModel fits duration ≈ c0 + c1·work by exponentially weighted least squares.
type workModel struct {
	mw, md, mww, mwd float64 // weighted means of w, d, w², w·d
	n                uint32
}

func (m *workModel) learn(w, d float64) {
	if m.n < math.MaxUint32 {
		m.n++
	}
	a := max(1/float64(m.n), workAlpha)
	m.mw += a * (w - m.mw)
	m.md += a * (d - m.md)
	m.mww += a * (w*w - m.mww)
	m.mwd += a * (w*d - m.mwd)
}

// expect is the usual duration of work w: never below a twentieth of the mean duration, so a
// fit that crosses zero cannot make small requests look slow.
func (m *workModel) expect(w float64) float64 {
	c1 := 0.0
	if v := m.mww - m.mw*m.mw; v > 1e-12*m.mww {
		c1 = max(0, (m.mwd-m.mw*m.md)/v)
	}
	return max(m.md+c1*(w-m.mw), 0.05*m.md)
}

// latencyOf returns the latency mode an item allows and its value in that mode (before the
// work model, for latWork: the work).
func latencyOf(o *obs) (uint8, float64) {
	switch {
	case !(o.dur > 0):
		return latNone, 0
	case o.outTok >= 1 && o.ttft > 0 && o.ttft < o.dur:
		return latTPOT, (o.dur - o.ttft) / o.outTok
	case o.outTok >= 1:
		return latWork, o.outTok
	case o.inTok >= 1:
		return latWork, o.inTok
	}
	return latRaw, o.dur
}

func (e *engine) observeOp(o *obs, src uint8, v *verdict) {
	en, learn := e.entry(kindOp, o.hOp, o.t, src)
	st := en.op
	if e.cfg.Latency.Enabled {
		mode, w := latencyOf(o)
		if mode > st.latMode && learn {
			// A richer measure of this key's latency: its baseline restarts in that unit.
			st.latMode, st.dur, st.work = mode, detector.Signal{}, workModel{}
		}
		switch {
		case mode != st.latMode:
			w = math.NaN()
		case mode == latWork:
			work := w
			w = math.NaN()
			if int(st.work.n) >= e.cfg.Warmup {
				w = o.dur / st.work.expect(work)
			}
			if learn {
				st.work.learn(work, o.dur)
			}
		}
		for i, x := range [2]float64{w, o.ttft} {
			if math.IsNaN(x) || x <= 0 {
				continue
			}
			sig := &st.dur
			if i == 1 {
				sig = &st.ttft
			}
			var r detector.SignalResult
			observeSignal(sig, o.t, x, &e.latency, learn, &r)
			if learn {
				st.debSpike.Tick()
				st.debShift.Tick()
			}
			if !r.Warm {
				continue
			}
			ft, deb := flagLatencyShift, &st.debShift
			if r.Spike {
				ft, deb = flagLatencySpike, &st.debSpike
			}
			if e.consider(v, o.t, r.Score, ft, kindOp, r.Z, r.Baseline, true, deb) {
				v.observed, v.hasObs = x, true
				if i == 0 && st.latMode == latWork {
					// Reported in seconds: the duration against the usual one for its work.
					v.observed, v.baseline, v.logBase = o.dur, o.dur/x*math.Exp(r.Baseline), false
				}
			}
		}
	}
	if e.cfg.ErrorBurst.Enabled && (o.isInfer || o.isLoad) {
		x := float32(0)
		if o.isErr {
			x = 1
		}
		fast, slow, reqs := st.errFast, st.errSlow, st.reqs
		fast += float32(e.errFastRate) * (x - fast)
		bits := st.errBits
		bits.Push(o.isErr)
		if learn {
			st.errFast = fast
			st.errBits = bits
			st.reqs++
			st.pace.Start(o.t)
			st.debErrBurst.Tick()
		}
		if o.isErr && int(reqs) >= e.cfg.Warmup {
			minRate := max(e.cfg.ErrorBurst.Ratio*float64(slow), e.cfg.ErrorBurst.MinRate)
			score := float64(fast) / (float64(fast) + minRate)
			observed := float64(fast)
			// The recent rate above averages over `window` requests, which on a key with a
			// request every few seconds takes minutes to fill. The same rate conditions over
			// the runs of recent requests that end with this one, with a binomial tail
			// against the baseline rate below the key's budget per request, decide after a
			// few errors in a row where they are that unlikely. Only on the signal the key
			// learns from: the log record of a failed request would count its span's error twice.
			// The base rate is the long-memory one, as a Beta law worth the requests it has
			// seen: the slow rate above remembers some 200 requests, a few seconds of a busy
			// key, too noisy to judge a run of errors against.
			if !learn || !st.debErrBurst.Ready(o.t, e.cooldown, e.cfg.CooldownObservations) {
				bits = 0
			}
			seen := float64(min(reqs, errLongMemory))
			if lt, frac := bits.BurstLogTail(min(int(reqs)+1, e.cfg.ErrorBurst.Window), float64(st.errLong)*seen+0.5, (1-float64(st.errLong))*seen+0.5, minRate); lt < 0 {
				if ts := detector.TailScore(lt, math.Log(st.pace.PerObservation(float64(reqs)+1, o.t, detector.KeyDayBudget))); ts > score {
					score, observed = ts, frac
				}
			}
			if e.consider(v, o.t, score, flagErrorBurst, kindOp, (observed-float64(slow))/max(float64(slow), 1e-3), float64(slow), true, &st.debErrBurst) {
				v.observed, v.hasObs = observed, true
			}
		}
		if learn {
			// The baseline learns slowly, so that a burst stands out for a while and a lasting
			// change of error rate is accepted after some ten windows.
			st.errSlow += float32(e.errSlowRate) * (x - st.errSlow)
			rate := float32(1.0 / errLongMemory)
			if reqs < errLongMemory {
				rate = 1 / float32(reqs+1) // a running mean at first
			}
			st.errLong += rate * (x - st.errLong)
			if reqs < uint32(e.cfg.Warmup) {
				st.errSlow = st.errFast
			}
		}
	}
}

const (
	// outTokBudget is the output test's budget of false alarms per key and day: a tenth of
	// detector.KeyDayBudget, because its z-score is judged far in the tail of a scale estimated
	// online (a few per cent of error in the scale moves a 6-sigma tail by a factor of ten). On
	// busy keys the robustness suite's log-normal tokens raised output spikes of 5.1 to 5.9
	// robust deviations at KeyDayBudget.
	outTokBudget = detector.KeyDayBudget / 10
	// errLongMemory is the memory, in requests, of the base error rate that runs of errors are
	// judged against: a running mean at first, then an EWMA.
	errLongMemory = 2000
	// outTokMinZ: below this robust z-score of output tokens (times sensitivity) the output test
	// cannot reach its threshold at any pace (the threshold at the slowest pace counted,
	// detector.Pace.PerObservation, is 4.75), so the hot path skips computing it.
	outTokMinZ = 4
)

func (e *engine) observeModel(o *obs, src uint8, v *verdict) {
	en, learn := e.entry(kindModel, o.hModel, o.t, src)
	st := en.model
	if e.cfg.Memory.Enabled && !math.IsNaN(o.mem) && o.mem > 0 {
		var r detector.SignalResult
		observeSignal(&st.mem, o.t, o.mem, &e.memory, learn, &r)
		if learn {
			st.debMem.Tick()
		}
		if r.Warm && r.Z > 0 {
			if e.consider(v, o.t, r.Score, flagMemorySpike, kindModel, r.Z, r.Baseline, true, &st.debMem) {
				v.observed, v.hasObs = o.mem, true
			}
		}
	}
	if e.cfg.Tokens.Enabled && o.isInfer {
		// One signal on the request's total tokens: a stuffed prompt and a runaway generation
		// both raise it, at the cost of one detector instead of two.
		tok, ok := 0.0, false
		for _, x := range [2]float64{o.inTok, o.outTok} {
			if x >= 0 { // false for NaN (absent)
				tok, ok = tok+x, true
			}
		}
		if ok {
			var r detector.SignalResult
			observeSignal(&st.tokens, o.t, tok, &e.tokens, learn, &r)
			if learn {
				st.debTok.Tick()
			}
			if r.Warm && r.Z > 0 {
				if e.consider(v, o.t, r.Score, flagTokenSpike, kindModel, r.Z, r.Baseline, true, &st.debTok) {
					v.observed, v.hasObs = tok, true
				}
			}
		}
		// A runaway generation hides in the total when the prompt is the larger part: 25 times
		// the output of a chat request with a long prompt is a few times its total, inside the
		// spread of totals. Output tokens get a single-observation test of their own (a plain
		// baseline, 48 bytes, no surprise stage: a spike of output tokens is one request).
		// Its threshold is the normal tail that spends the key's budget of false alarms a day
		// at its pace (outTokBudget): about 6.3 robust deviations on a key with a hundred
		// requests a second, 5.2 on one with a request every ten seconds, where a fixed 6
		// misses a good part of 25-fold spikes of a spread of 0.5.
		if o.outTok >= 1 {
			if learn {
				st.tokPace.Start(o.t)
			}
			lx := fastLog(o.outTok)
			var r detector.Result
			warm := false
			if learn {
				warm = st.outTok.ObserveInto(lx, &e.tokens.Series, &r)
			} else {
				r = st.outTok.Peek(lx, &e.tokens.Series)
				warm = st.outTok.N() >= e.cfg.Warmup
			}
			if z := r.Z * e.cfg.Tokens.Sensitivity; warm && z > outTokMinZ {
				zt := detector.GaussTailZ(st.tokPace.PerObservation(float64(st.outTok.N()), o.t, outTokBudget))
				if e.consider(v, o.t, z*z/(z*z+zt*zt), flagTokenSpike, kindModel, r.Z, r.Baseline, true, &st.debTok) {
					v.observed, v.hasObs = o.outTok, true
				}
			}
		}
	}
	if e.cfg.SupplyChain.Enabled {
		if o.isLoad || o.denied || o.integrityFailed {
			st.debDigest.Tick()
			st.debFormat.Tick()
		}
		if o.integrityFailed {
			e.consider(v, o.t, 1, flagModelDigestChanged, kindModel, 0, 0, false, &st.debDigest)
		}
		if o.isLoad && o.digest != "" {
			d := maphash.String(e.seed, o.digest)
			if st.digest != 0 && st.digest != d {
				e.consider(v, o.t, 1, flagModelDigestChanged, kindModel, 0, 0, false, &st.debDigest)
			}
			st.digest = d
		}
		if o.denied || (o.isLoad && (e.formatDisallowed(o.format) || strings.EqualFold(o.decision, mlxconv.DecisionDeny))) {
			e.consider(v, o.t, 1, flagDisallowedFormat, kindModel, 0, 0, false, &st.debFormat)
		}
	}
	if e.cfg.ReloadStorm.Enabled && o.isLoad {
		e.observeLoad(st, o, v)
	}
}

func (e *engine) formatDisallowed(f string) bool {
	if f == "" {
		return false
	}
	for _, d := range e.disallowed {
		if strings.EqualFold(f, d) {
			return true
		}
	}
	return false
}

// observeLoad counts the loads of a model in the reload window. A load reported by both its
// span and its log record (same span id) counts once.
func (e *engine) observeLoad(st *modelState, o *obs, v *verdict) {
	if o.spanID != 0 {
		for _, id := range st.loadIDs {
			if id == o.spanID {
				return
			}
		}
	}
	st.loadTimes[st.loadPos] = o.t
	st.loadIDs[st.loadPos] = o.spanID
	st.loadPos = (st.loadPos + 1) % maxReloadLoads
	n := 0
	for _, lt := range st.loadTimes {
		if lt != 0 && o.t-lt <= e.reloadWin && lt <= o.t {
			n++
		}
	}
	st.debReload.Tick()
	m := e.cfg.ReloadStorm.MaxLoads
	score := float64(n) / float64(2*m-1) // 0.5 at m loads... reaches 1 at 2m-1
	if n >= m && score < 0.5 {
		score = 0.5
	}
	if score > 1 {
		score = 1
	}
	if n < m {
		score = math.Min(score, e.cfg.FlagThreshold/2)
	}
	if e.consider(v, o.t, score, flagReloadStorm, kindModel, 0, float64(m), false, &st.debReload) {
		// The evidence of a storm is its count: observed loads against the configured limit.
		v.observed, v.hasObs, v.baseline, v.hasBase = float64(n), true, float64(m), true
	}
}

// observeSource flags a model source never seen for the service, once the service has a known
// set of sources (its first load only teaches).
func (e *engine) observeSource(o *obs, src uint8, v *verdict) {
	en, _ := e.entry(kindService, o.hService, o.t, src)
	st := en.svc
	st.deb.Tick()
	h := maphash.String(e.seed, o.source)
	for i := 0; i < int(st.n); i++ {
		if st.sources[i] == h {
			return
		}
	}
	if st.n > 0 {
		e.consider(v, o.t, 1, flagNewModelSource, kindService, 0, 0, false, &st.deb)
	}
	st.sources[st.pos] = h
	st.pos = (st.pos + 1) % maxSources
	if st.n < maxSources {
		st.n++
	}
}

// Client floods. A caller's rate per interval is estimated from its own decayed history,
// shrunk toward the population's per-caller rate of its service (empirical Bayes: the
// population's rate is the mean of a Gamma prior worth one interval of counts); the count of the
// current interval is a flood when its tail probability under the posterior predictive
// (negative binomial) is at most client_flood.tail_probability. A caller seen for a few intervals
// has a wide predictive and needs a large count; a caller seen for an hour, a narrow one.
const (
	// floodMemory is the memory of a caller's own rate, in intervals: an hour at the default
	// 1-minute interval, short against a daily cycle, long enough for a sparse caller's rate.
	floodMemory = 60
	floodDecay  = 1 - 1.0/floodMemory
	// popMemory is the memory of the population's rates, in intervals (six hours at 1 minute).
	popMemory = 6 * floodMemory
	// floodMinTokenReqs: the token test needs this many requests in the interval, so that one
	// request with many tokens is a token_spike of its model, not a flood of its caller.
	floodMinTokenReqs = 3
	floodTokenClip    = 4
)

// observeCaller counts a caller's requests and tokens per interval of event time and tests the
// running counts against the caller's predictive law.
func (e *engine) observeCaller(o *obs, src uint8, v *verdict) {
	en, learn := e.entry(kindCaller, o.hCaller, o.t, src)
	st := en.caller
	if !learn {
		// Scored against the baseline without changing it: work on a copy. The debounce
		// fields are used from en.caller all the same (the verdict may mark them).
		cp := *st
		st = &cp
	}
	iv := e.floodIv
	// The interval start of o.t, o.t - o.t%iv; most items fall in the current interval, which
	// saves the division.
	b := st.bucket
	if !(b >= 0 && o.t >= b && o.t-b < iv) {
		b = o.t - o.t%iv
	}
	first := st.intervals == 0 && st.bucket == 0
	if first || b > st.bucket || en.caller.pop == nil {
		// The service's population is looked up when an interval opens, not per request.
		sen, _ := e.entry(kindService, o.hService, o.t, src)
		en.caller.pop = &sen.svc.pop
		st.pop = en.caller.pop
	}
	pop := st.pop
	switch {
	case first:
		st.bucket = b
		st.intervals = 1
		openInterval(st, pop)
	case b > st.bucket:
		closeInterval(st, pop, (b-st.bucket)/iv, learn, o.t, iv)
		st.bucket, st.reqs, st.toks = b, 0, 0
		if st.intervals < math.MaxUint32 {
			st.intervals++
		}
		openInterval(st, pop)
	case b < st.bucket-iv:
		// Older than the previous interval: too late to count towards a rate. Counting it in
		// the current interval would turn a replay of old data into a flood.
		return
	}
	tok := 0.0
	if o.inTok > 0 { // false for NaN (absent)
		tok += o.inTok
	}
	if o.outTok > 0 {
		tok += o.outTok
	}
	// One request counts for at most floodTokenClip times the service's mean tokens per
	// request: a single huge request is its model's token_spike, a flood of tokens takes many.
	if lim := floodTokenClip * pop.tok1; pop.n >= 32 && tok > lim {
		tok = lim
	}
	if learn && tok > 0 {
		if pop.n < math.MaxUint32 {
			pop.n++
		}
		a := 1.0 / 1024
		if pop.n < 1024 {
			a = 1 / float64(pop.n)
		}
		pop.tok1 += a * (tok - pop.tok1)
		pop.tok2 += a * (tok*tok - pop.tok2)
	}
	st.reqs++
	st.toks += tok
	if learn {
		en.caller.debFlood.Tick()
		en.caller.debTokenFlood.Tick()
	}
	// Most requests are dismissed by the gate (the predictive mean plus three deviations),
	// below which no count reaches a tail probability worth computing.
	if st.reqs > float64(st.req.Gate) && st.reqs >= float64(e.cfg.ClientFlood.MinRequests) {
		e.considerCount(v, o.t, st.reqs, 1, &st.req, &en.caller.debFlood)
	}
	// The token test's floor: min_requests requests' worth of the service's mean tokens.
	if st.toks > float64(e.cfg.ClientFlood.MinRequests)*pop.tok1 && st.reqs >= floodMinTokenReqs && st.phi > 0 {
		if u := st.toks / float64(st.phi); u > float64(st.tok.Gate) {
			e.considerCount(v, o.t, u, float64(st.phi), &st.tok, &en.caller.debTokenFlood)
		}
	}
}

// considerCount scores count n (in units of unit) against its predictive law.
func (e *engine) considerCount(v *verdict, t int64, n, unit float64, post *detector.CountPosterior, deb *detector.Debounce) {
	lt := post.LogTail(n)
	score := detector.TailScore(lt, e.logAlpha)
	m := post.Mean()
	if e.consider(v, t, score, flagClientFlood, kindCaller, (n-m)/post.SD(), m*unit, true, deb) {
		v.observed, v.hasObs = n*unit, true
		v.p, v.hasP = math.Exp(lt), true
	}
}

// closeInterval adds the closed interval, and k-1 empty ones after it, to the caller's history,
// and the closed interval to the population's.
func closeInterval(st *callerState, pop *population, k int64, learn bool, t, iv int64) {
	const d = float32(floodDecay)
	st.sReq = d*st.sReq + float32(st.reqs)
	st.sTok = d*st.sTok + float32(st.toks)
	st.exposure = d*st.exposure + 1
	if k > 1 {
		g := float32(math.Exp(float64(min(k-1, 20*floodMemory)) * math.Log(floodDecay)))
		st.sReq *= g
		st.sTok *= g
		st.exposure = g*st.exposure + (1-g)*floodMemory
	}
	if !learn {
		return
	}
	f := 1.0
	if dt := t - pop.last; dt > 0 && pop.last != 0 {
		f = math.Exp(-float64(dt) / float64(popMemory*iv))
	}
	pop.reqs = f*pop.reqs + st.reqs
	pop.toks = f*pop.toks + st.toks
	pop.callerIvs = f*pop.callerIvs + float64(min(k, floodMemory))
	if t > pop.last {
		pop.last = t
	}
}

// openInterval sets the posteriors of a caller's new interval. Tokens are counted in request
// units of the service: tokens per request vary, so a caller's token count per interval is
// over-dispersed against a Poisson law by E[x²]/E[x] (x: tokens per request); divided by that,
// it is about as dispersed as a Poisson count (a quasi-Poisson model).
func openInterval(st *callerState, pop *population) {
	phi := 1.0
	if pop.tok1 > 0 {
		phi = max(1, pop.tok2/pop.tok1)
	}
	muR, muT := 1.0, pop.tok1/phi
	if pop.callerIvs >= 1 {
		muR = pop.reqs / pop.callerIvs
		muT = pop.toks / phi / pop.callerIvs
	}
	st.phi = float32(phi)
	if pop.callerIvs < 1 && st.exposure == 0 {
		// Neither the service nor the caller has a closed interval yet (a collector that just
		// started, or a new service): there is no rate to centre the prior on, and a made-up one
		// flagged every busy caller in the first minute after a restart. Such an interval is
		// counted, not tested; the caller's next one is judged against the population's rate.
		st.req, st.tok = untested, untested
		return
	}
	st.req = detector.Posterior(muR, float64(st.sReq), float64(st.exposure))
	st.tok = detector.Posterior(muT, float64(st.sTok)/phi, float64(st.exposure))
}

// untested is the posterior of an interval without a baseline: no count passes its gate.
var untested = detector.CountPosterior{Gate: float32(math.Inf(1))}

// keyString builds the mlxanomaly.key of a flag: the parts of its key joined by "/".
func (e *engine) keyString(kind uint8, o *obs) string {
	var b strings.Builder
	switch kind {
	case kindOp:
		b.WriteString(o.service + "/" + o.model + "/" + o.op)
	case kindModel:
		b.WriteString(o.service + "/" + o.model)
	case kindService:
		b.WriteString(o.service)
	case kindCaller:
		b.WriteString(o.service + "/" + o.user)
	}
	for i := range e.cfg.KeyAttributes {
		b.WriteString("/")
		b.WriteString(o.extra[i])
	}
	return b.String()
}
