package mlxanomaly // import "github.com/otel-mlx/otel-mlx/processor/mlxanomaly"

import (
	"unsafe"

	"github.com/otel-mlx/otel-mlx/internal/detector"
)

// Key kinds: each kind of key holds the state of the detectors that share that key.
const (
	kindOp      uint8 = iota + 1 // service/model/operation: latency, time to first token, errors
	kindModel                    // service/model: digest, loads, memory, tokens
	kindService                  // service: model sources seen
	kindCaller                   // service/caller: request and token rate
)

// Which signal a key learns from: the first that fed it, except that spans take over an
// operation or model key from log records (see engine.entry). Numeric baselines learn from that
// signal only, so that a span and the log record of the same operation are not counted twice;
// the other signal's items are scored against the baseline without changing it.
const (
	srcTraces uint8 = 1
	srcLogs   uint8 = 2
)

type opState struct {
	dur, ttft   detector.Signal
	errFast     float32
	errSlow     float32
	reqs        uint32
	errLong     float32            // error rate over some errLongMemory requests
	errBits     detector.BurstBits // outcomes of the last 32 requests
	pace        detector.Pace      // since the first request, for the error test's budget per request
	latMode     uint8              // what the duration signal measures: latRaw, latWork or latTPOT
	work        workModel
	debSpike    detector.Debounce
	debShift    detector.Debounce
	debErrBurst detector.Debounce
}

type modelState struct {
	mem, tokens detector.Signal
	outTok      detector.Series // output tokens of generative requests, log scale (spike test only)
	tokPace     detector.Pace   // since the first output count, for the output test's threshold
	digest      uint64
	loadTimes   [maxReloadLoads]int64
	loadIDs     [maxReloadLoads]uint64
	loadPos     uint8
	debMem      detector.Debounce
	debTok      detector.Debounce
	debDigest   detector.Debounce
	debFormat   detector.Debounce
	debReload   detector.Debounce
}

const maxSources = 32

type serviceState struct {
	sources [maxSources]uint64
	n, pos  uint8
	deb     detector.Debounce
	pop     population
}

// population holds what the callers of one service have in common, the prior of each caller's
// rate: requests and tokens per caller-interval (sums decayed with event time, so that they
// follow the service's daily cycle and a change of its audience), and the first two moments of
// tokens per request, whose ratio is the dispersion of a caller's token count.
type population struct {
	reqs, toks, callerIvs float64 // decayed sums over closed caller-intervals
	last                  int64   // event time of the last update of the sums
	tok1, tok2            float64 // EWMA of tokens and tokens² per request
	n                     uint32  // requests seen, saturating
}

type callerState struct {
	bucket     int64   // start of the current interval
	reqs, toks float64 // counts in the current interval
	// The caller's history: requests and tokens (in request units of the service, see
	// population) of its closed intervals and its exposure in intervals, each decayed by
	// floodDecay per interval.
	sReq, sTok, exposure float32
	// The posteriors of the current interval, set when it opens.
	req, tok      detector.CountPosterior
	phi           float32     // tokens per request unit when the interval opened
	pop           *population // of the caller's service, looked up when an interval opens
	intervals     uint32
	debFlood      detector.Debounce
	debTokenFlood detector.Debounce
}

// entry is one key in the LRU list. Exactly one of the state pointers is set, by kind.
type entry struct {
	hash       uint64
	prev, next *entry
	last       int64 // event time last seen
	kind, src  uint8
	op         *opState
	model      *modelState
	svc        *serviceState
	caller     *callerState
}

// mapOverhead approximates the bytes a Go map spends per element for a uint64→pointer map.
const mapOverhead = 48

// entrySize is the memory one key of a kind holds: the entry, its state and its map slot.
func entrySize(kind uint8) int {
	n := int(unsafe.Sizeof(entry{})) + mapOverhead
	switch kind {
	case kindOp:
		n += int(unsafe.Sizeof(opState{}))
	case kindModel:
		n += int(unsafe.Sizeof(modelState{}))
	case kindService:
		n += int(unsafe.Sizeof(serviceState{}))
	case kindCaller:
		n += int(unsafe.Sizeof(callerState{}))
	}
	return n
}

// table is an LRU of keys bounded by a key count and by bytes. It is not safe for concurrent
// use; the processor holds its lock around it.
type table struct {
	m          map[uint64]*entry
	recent     [recentSlots]*entry // direct-mapped by hash: the keys used last, checked before m
	head, tail *entry              // head: most recently used
	maxKeys    int
	budget     int // bytes
	bytes      int
	idle       int64
	onEvict    func(reason string)
}

// recentSlots is the size of the table's front cache. An item looks up two to four keys, and a
// batch of items mostly the same few, so most look-ups are answered by one load and compare
// instead of a map probe.
const recentSlots = 256

func newTable(maxKeys, budget int, idle int64, onEvict func(string)) *table {
	return &table{m: make(map[uint64]*entry), maxKeys: maxKeys, budget: budget, idle: idle, onEvict: onEvict}
}

func (t *table) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *table) pushFront(e *entry) {
	e.next = t.head
	if t.head != nil {
		t.head.prev = e
	}
	t.head = e
	if t.tail == nil {
		t.tail = e
	}
}

func (t *table) remove(e *entry, reason string) {
	t.unlink(e)
	delete(t.m, e.hash)
	if r := &t.recent[e.hash&(recentSlots-1)]; *r == e {
		*r = nil
	}
	t.bytes -= entrySize(e.kind)
	if t.onEvict != nil {
		t.onEvict(reason)
	}
}

// get returns the entry of a key, creating it (and evicting others to make room) when absent.
// now is the event-time watermark, used to expire idle keys.
func (t *table) get(h uint64, kind uint8, now int64) (*entry, bool) {
	slot := &t.recent[h&(recentSlots-1)]
	e := *slot
	if e == nil || e.hash != h {
		e = t.m[h]
	}
	if e != nil && e.kind == kind {
		if *slot != e {
			*slot = e
		}
		if t.head != e {
			t.unlink(e)
			t.pushFront(e)
		}
		return e, false
	} else if e != nil {
		// A hash collision across kinds: the newer key wins.
		t.remove(e, "collision")
	}
	t.expire(now)
	size := entrySize(kind)
	for t.tail != nil && (len(t.m) >= t.maxKeys || t.bytes+size > t.budget) {
		reason := "max_keys"
		if len(t.m) < t.maxKeys {
			reason = "memory_budget"
		}
		t.remove(t.tail, reason)
	}
	e = &entry{hash: h, kind: kind, last: now}
	switch kind {
	case kindOp:
		e.op = &opState{}
	case kindModel:
		e.model = &modelState{}
	case kindService:
		e.svc = &serviceState{}
	case kindCaller:
		e.caller = &callerState{}
	}
	t.m[h] = e
	*slot = e
	t.bytes += size
	t.pushFront(e)
	return e, true
}

// expire drops keys idle for longer than the idle timeout from the cold end of the list.
// Recently used keys are at the front, so the scan stops at the first key still in use.
func (t *table) expire(now int64) {
	for n := 0; t.tail != nil && n < 64 && now-t.tail.last > t.idle; n++ {
		t.remove(t.tail, "idle")
	}
}

func (t *table) len() int { return len(t.m) }
