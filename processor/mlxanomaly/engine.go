package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/processor/mlxanomaly/internal/detector"
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
func (e *engine) consider(v *verdict, t int64, score float64, ft flagType, keyKind uint8, z, baseline float64, hasZ bool, deb *detector.Debounce) {
	if score > v.score {
		v.score = score
	}
	if score < e.cfg.FlagThreshold {
		return
	}
	if r := flagRank[ft]; r > v.anomRank {
		v.anomRank = r
	}
	if v.flag != flagNone {
		if r, cur := flagRank[ft], flagRank[v.flag]; r < cur || (r == cur && score <= v.flagScore) {
			return
		}
	}
	if !deb.Ready(t, e.cooldown, e.cfg.CooldownObservations) {
		return
	}
	v.flag, v.flagScore, v.keyKind = ft, score, keyKind
	v.z, v.baseline, v.hasZ, v.deb = z, baseline, hasZ, deb
	v.logBase = ft == flagLatencyShift || ft == flagLatencySpike || ft == flagMemorySpike || ft == flagTokenSpike
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
	wm          int64 // event-time watermark: newest plausible timestamp seen
	popReq      float64
	popTok      float64
	popN        uint32
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

// signalParams are the tuned parameters of the numeric detectors; sensitivity scales the
// surprise needed. The same values serve every key.
//
// positive selects the profile of the processor's signals (durations, tokens, memory): they are
// observed as log(x), where one observation many scales out is unambiguous, so a single-spike
// test runs beside the surprise test, and the surprise threshold is higher because a busy key
// has tens of thousands of observations a day. The plain profile (SeriesScorer, any real values,
// one observation per row as in NAB) was chosen on the NAB development subset.
func signalParams(warmup int, c SignalConfig, positive bool) detector.SignalParams {
	sel := 0.0
	if c.Seasonal {
		sel = 0.4
	}
	s := c.Sensitivity
	if s <= 0 {
		s = 1
	}
	p := detector.SignalParams{
		Series: detector.Params{Warmup: warmup, Alpha: 0.003, FastAlpha: 0.2, Clip: 2, Z: 20, ShiftZ: 8,
			Accept: 30, MinScale: 0.001, MinAbs: 1e-9},
		SeasonAlpha: 0.2, SeasonSelect: sel, ShortAlpha: 0.1, LongAlpha: 0.002, SurpriseZ: 5 / s, MinZ: 2, LevelSurprise: true,
	}
	if positive {
		p.SurpriseZ = positiveSurpriseZ / s
		p.SpikeZ = positiveSpikeZ / s
		p.LevelSurprise = false
		p.Series.Accept = positiveAccept
		p.Series.MinScale = 0
		p.Series.MinAbs = 0.01 // 1% in log space
	}
	p.Prepare()
	return p
}

// Thresholds of the positive-quantity profile (see signalParams).
var (
	positiveSurpriseZ = 7.0
	positiveSpikeZ    = 5.0
	positiveAccept    = 100
)

func newEngine(cfg *Config, tel *telemetry) *engine {
	e := &engine{cfg: *cfg, tel: tel, seed: maphash.MakeSeed()}
	e.latency = signalParams(cfg.Warmup, cfg.Latency, true)
	e.memory = signalParams(cfg.Warmup, cfg.Memory, true)
	e.tokens = signalParams(cfg.Warmup, cfg.Tokens, true)
	e.latency.Prepare()
	e.memory.Prepare()
	e.tokens.Prepare()
	for _, f := range cfg.SupplyChain.DisallowedFormats {
		e.disallowed = append(e.disallowed, strings.ToLower(strings.TrimSpace(f)))
	}
	e.cooldown = int64(cfg.Cooldown)
	e.skew = int64(cfg.MaxClockSkew)
	e.reloadWin = int64(cfg.ReloadStorm.Window)
	e.floodIv = int64(cfg.ClientFlood.Interval)
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
	if en.src == 0 {
		en.src = src
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

func (e *engine) observeOp(o *obs, src uint8, v *verdict) {
	en, learn := e.entry(kindOp, o.hOp, o.t, src)
	st := en.op
	if e.cfg.Latency.Enabled {
		for i, x := range [2]float64{o.dur, o.ttft} {
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
			e.consider(v, o.t, r.Score, ft, kindOp, r.Z, r.Baseline, true, deb)
		}
	}
	if e.cfg.ErrorBurst.Enabled && (o.isInfer || o.isLoad) {
		x := float32(0)
		if o.isErr {
			x = 1
		}
		fast, slow, reqs := st.errFast, st.errSlow, st.reqs
		fast += float32(e.errFastRate) * (x - fast)
		if learn {
			st.errFast = fast
			st.reqs++
			st.debErrBurst.Tick()
		}
		if o.isErr && int(reqs) >= e.cfg.Warmup {
			limit := max(e.cfg.ErrorBurst.Ratio*float64(slow), e.cfg.ErrorBurst.MinRate)
			score := float64(fast) / (float64(fast) + limit)
			e.consider(v, o.t, score, flagErrorBurst, kindOp, (float64(fast)-float64(slow))/max(float64(slow), 1e-3), float64(slow), true, &st.debErrBurst)
		}
		if learn {
			// The baseline learns slowly, so that a burst stands out for a while and a lasting
			// change of error rate is accepted after some ten windows.
			st.errSlow += float32(e.errSlowRate) * (x - st.errSlow)
			if reqs < uint32(e.cfg.Warmup) {
				st.errSlow = st.errFast
			}
		}
	}
}

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
			e.consider(v, o.t, r.Score, flagMemorySpike, kindModel, r.Z, r.Baseline, true, &st.debMem)
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
				e.consider(v, o.t, r.Score, flagTokenSpike, kindModel, r.Z, r.Baseline, true, &st.debTok)
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
	e.consider(v, o.t, score, flagReloadStorm, kindModel, float64(n), float64(m), true, &st.debReload)
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

// observeCaller counts a caller's requests and tokens per interval of event time and compares
// the running count with the caller's own baseline and the population's typical caller.
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
	const alpha = 0.1
	switch {
	case st.intervals == 0 && st.bucket == 0:
		st.bucket = b
	case b > st.bucket:
		// Close the interval: it teaches the caller's and the population's baselines.
		st.baseReq += alpha * (float32(st.reqs) - st.baseReq)
		st.baseTok += alpha * (float32(st.toks) - st.baseTok)
		if learn {
			e.popN++
			pa := max(0.01, 1/float64(e.popN))
			e.popReq += pa * (st.reqs - e.popReq)
			e.popTok += pa * (st.toks - e.popTok)
		}
		// Idle intervals in between decay the baseline.
		if k := (b - st.bucket) / iv; k > 1 {
			if k > 64 {
				k = 64
			}
			f := float32(math.Pow(1-alpha, float64(k-1)))
			st.baseReq *= f
			st.baseTok *= f
		}
		st.intervals++
		st.bucket, st.reqs, st.toks = b, 0, 0
	case b < st.bucket-iv:
		// Older than the previous interval: too late to count towards a rate. Counting it in
		// the current interval would turn a replay of old data into a flood.
		return
	}
	st.reqs++
	tok := 0.0
	if o.inTok > 0 { // false for NaN (absent)
		tok += o.inTok
	}
	if o.outTok > 0 {
		tok += o.outTok
	}
	st.toks += tok
	if learn {
		en.caller.debFlood.Tick()
		en.caller.debTokenFlood.Tick()
	}
	f := &e.cfg.ClientFlood
	thr := e.cfg.FlagThreshold
	own, ownTok := 0.0, 0.0
	if int(st.intervals) >= 3 {
		own, ownTok = float64(st.baseReq), float64(st.baseTok)
	}
	limit := max(f.Ratio*own, f.Ratio*e.popReq, float64(f.MinRequests))
	score := st.reqs / (st.reqs + limit)
	// The ratio to the caller's own baseline is reported only with a flag, so it is computed
	// only for a score that can flag (consider ignores it below the threshold).
	z := 0.0
	if score >= thr {
		z = st.reqs / max(own, 1)
	}
	e.consider(v, o.t, score, flagClientFlood, kindCaller, z, own, true, &en.caller.debFlood)
	// Token rates vary far more between deployments than request rates, so the token test
	// waits until the population has a baseline (warmup closed intervals).
	ts, zt := 0.0, 0.0
	if int(e.popN) >= e.cfg.Warmup {
		tlimit := max(f.Ratio*ownTok, f.Ratio*e.popTok, float64(f.MinRequests)*100)
		ts = st.toks / (st.toks + tlimit)
		if ts >= thr {
			zt = st.toks / max(ownTok, 1)
		}
	}
	e.consider(v, o.t, ts, flagClientFlood, kindCaller, zt, ownTok, true, &en.caller.debTokenFlood)
}

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
