package main

import (
	"sort"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Contract names the review reads (docs/DATA-CONTRACT.md), from the contract package;
// service.name is a resource attribute outside the MLX contract.
const (
	attrService   = "service.name"
	attrOperation = mlxconv.AttrGenAIOperationName
	attrModel     = mlxconv.AttrGenAIRequestModel
	attrDigest    = mlxconv.AttrModelSHA256
	attrSource    = mlxconv.AttrModelSource
	attrFormat    = mlxconv.AttrModelFormat
	attrUnsafe    = mlxconv.AttrModelUnsafe
	attrDecision  = mlxconv.AttrPolicyDecision
	attrRule      = mlxconv.AttrPolicyRule
	attrCaller    = mlxconv.AttrEnduserPseudoID
	attrErrorType = mlxconv.AttrErrorType
	attrFlag      = mlxconv.AttrAnomalyFlag
	attrType      = mlxconv.AttrAnomalyType
	attrKey       = mlxconv.AttrAnomalyKey
	attrTechnique = mlxconv.AttrAnomalyAtlasTechnique

	opLoad = mlxconv.OperationLoadModel

	eventLoadSucceeded = mlxconv.EventModelLoadSucceeded
	eventPolicyDenied  = mlxconv.EventModelPolicyDenied
	eventIntegrity     = mlxconv.EventModelIntegrityMismatch
	eventInference     = mlxconv.EventInferenceCompleted
	eventInferenceFail = mlxconv.EventInferenceFailed
	eventFinding       = mlxconv.EventAnomalyDetected
)

// Bounds: the review holds aggregates, never records, and every table it keeps is capped, so
// memory stays bounded whatever the input size. What exceeds a cap is counted, not dropped
// silently.
const (
	maxModels        = 256     // models with latency/error series; the rest go to _OTHER
	maxBucketsModel  = 100_000 // minutes per model series (about 69 days)
	maxInventory     = 10_000  // (model, digest, source) rows
	maxCallers       = 100_000 // distinct pseudonymous callers counted exactly
	maxMarkers       = 400     // anomaly markers kept per model (earliest)
	maxIncidentRows  = 500     // incident rows kept for the table (earliest)
	maxTypes         = 64      // incident types
	maxBucketsType   = 100_000 // minutes per incident type
	maxErrorsShown   = 20      // malformed-record messages kept
	otherLabel       = "_OTHER"
	bucketNanos      = int64(time.Minute)
	maxStringInTable = 256
)

type bucket struct {
	n, errs   int64
	sumDur    float64 // seconds
	maxDur    float64
	anomalies int64
}

type marker struct {
	t   int64
	typ string
}

type modelSeries struct {
	buckets  map[int64]*bucket
	dropped  int64
	markers  []marker
	n, errs  int64
	sumDur   float64
	services map[string]struct{}
}

type invKey struct{ model, digest, source string }

type invRow struct {
	first, last         int64
	loadSpans, loadEvts int64
	denySpans, denyEvts int64
	intSpans, intEvts   int64
	format              string
	unsafe              bool
	rules               map[string]struct{}
}

type incidentType struct {
	technique string
	n         int64
	first     int64
	last      int64
	buckets   map[int64]int64
	keys      map[string]struct{}
}

type incidentRow struct {
	t                              int64
	typ, key, model, service, tech string
	traceID, spanID                string
	finding                        bool
}

type caller struct{ spans, events int64 }

// incidents aggregates onsets of one origin: flagged items (mlxanomaly.flag=true) or finding
// log records (mlx.anomaly.detected). Both describe the same onsets when both are exported, so
// the report shows findings when there are any and flagged items otherwise.
type incidents struct {
	types   map[string]*incidentType
	rows    []incidentRow
	total   int64
	dropped int64
}

func newIncidents() *incidents { return &incidents{types: map[string]*incidentType{}} }

// agg is one worker's aggregate; merge combines them.
type agg struct {
	spans, logs, points int64
	lines               int64
	malformed           int64
	malformedMsgs       []string
	minT, maxT          int64

	models      map[string]*modelSeries
	inventory   map[invKey]*invRow
	invDropped  int64
	callers     map[string]*caller
	callersLost int64 // records of callers past maxCallers (counted under _OTHER)

	flags, findings *incidents

	// A denial or integrity mismatch is recorded as a span and as an event of that span; the
	// totals count each span id once (up to maxIDs, then every record counts).
	denyIDs, integrityIDs   map[pcommon.SpanID]struct{}
	denyNoID, integrityNoID int64
}

const maxIDs = 1 << 20

func addID(set map[pcommon.SpanID]struct{}, noID *int64, id pcommon.SpanID) {
	if id.IsEmpty() || len(set) >= maxIDs {
		*noID++
		return
	}
	set[id] = struct{}{}
}

func newAgg() *agg {
	return &agg{
		models:       map[string]*modelSeries{},
		inventory:    map[invKey]*invRow{},
		callers:      map[string]*caller{},
		flags:        newIncidents(),
		findings:     newIncidents(),
		denyIDs:      map[pcommon.SpanID]struct{}{},
		integrityIDs: map[pcommon.SpanID]struct{}{},
	}
}

func (a *agg) seeTime(t int64) {
	if t <= 0 {
		return
	}
	if a.minT == 0 || t < a.minT {
		a.minT = t
	}
	if t > a.maxT {
		a.maxT = t
	}
}

// item is what the review needs from one span or log record.
type item struct {
	t                         int64
	dur                       float64
	isErr                     bool
	op, model, digest, source string
	format, caller, errType   string
	decision, rule            string
	unsafe                    bool
	flag                      bool
	typ, key, technique       string
	service, event            string
	traceID, spanID           string
	isSpan                    bool
	id                        pcommon.SpanID
}

func (it *item) read(m pcommon.Map) {
	m.Range(func(k string, v pcommon.Value) bool {
		if kind := attrKind([]byte(k)); kind != kOther {
			it.set(kind, v.AsString(), v.Type() == pcommon.ValueTypeBool && v.Bool())
		}
		return true
	})
}

// set stores one attribute the review reads, of kind attrKind (not kOther): str is its value as
// pcommon.Value.AsString gives it, isTrue whether it is the boolean true. Both readers (pdata's
// map above, the selective scanner) go through it, so they cannot disagree on a field.
func (it *item) set(kind int, str string, isTrue bool) {
	switch kind {
	case kOperation:
		it.op = str
	case kModel:
		it.model = str
	case kDigest:
		it.digest = str
	case kSource:
		it.source = str
	case kFormat:
		it.format = str
	case kUnsafe:
		it.unsafe = isTrue || str == "true"
	case kDecision:
		it.decision = str
	case kRule:
		it.rule = str
	case kCaller:
		it.caller = str
	case kErrorType:
		it.errType = str
	case kFlag:
		it.flag = isTrue || str == "true"
	case kType:
		it.typ = str
	case kKey:
		it.key = str
	case kTechnique:
		it.technique = str
	case kService:
		if it.service == "" {
			it.service = str
		}
	}
}

func serviceOf(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get(attrService); ok {
		return v.AsString()
	}
	return ""
}

func (a *agg) addTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		svc := serviceOf(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sps := sss.At(j).Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				a.spans++
				it := item{isSpan: true, service: svc}
				end := int64(sp.EndTimestamp())
				it.t = end
				if st := int64(sp.StartTimestamp()); st > 0 && end >= st {
					it.dur = float64(end-st) / 1e9
				}
				it.isErr = sp.Status().Code() == ptrace.StatusCodeError
				it.id = sp.SpanID()
				it.read(sp.Attributes())
				if it.flag {
					it.traceID = traceHex(sp.TraceID())
					it.spanID = spanHex(sp.SpanID())
				}
				a.add(&it)
			}
		}
	}
}

func (a *agg) addLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		svc := serviceOf(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				a.logs++
				it := item{service: svc, event: lr.EventName()}
				it.t = int64(lr.Timestamp())
				if it.t == 0 {
					it.t = int64(lr.ObservedTimestamp())
				}
				it.read(lr.Attributes())
				it.id = lr.SpanID()
				if it.flag || it.event == eventFinding {
					it.traceID = traceHex(lr.TraceID())
					it.spanID = spanHex(lr.SpanID())
				}
				a.add(&it)
			}
		}
	}
}

func (a *agg) addMetrics(md pmetric.Metrics) {
	a.points += int64(md.DataPointCount())
}

func traceHex(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func spanHex(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func (a *agg) add(it *item) {
	a.seeTime(it.t)
	load := it.op == opLoad || it.event == eventLoadSucceeded || it.event == eventPolicyDenied ||
		it.event == eventIntegrity || it.event == mlxconv.EventModelLoadFailed
	switch {
	case it.event == eventFinding:
		a.findings.add(it, true)
	case it.flag:
		a.flags.add(it, false)
	}
	if it.event == eventFinding {
		return // a finding is about another item; that item is counted where it is read
	}
	if load {
		a.addLoad(it)
		return
	}
	if it.isSpan && it.model != "" {
		a.addInference(it)
	}
	if it.caller != "" && (it.isSpan || it.event == eventInference || it.event == eventInferenceFail) {
		c, ok := a.callers[it.caller]
		if !ok {
			if len(a.callers) >= maxCallers {
				a.callersLost++
				return
			}
			c = &caller{}
			a.callers[it.caller] = c
		}
		if it.isSpan {
			c.spans++
		} else {
			c.events++
		}
	}
}

func (a *agg) addLoad(it *item) {
	k := invKey{model: it.model, digest: it.digest, source: it.source}
	r, ok := a.inventory[k]
	if !ok {
		if len(a.inventory) >= maxInventory {
			a.invDropped++
			return
		}
		r = &invRow{first: it.t, last: it.t, rules: map[string]struct{}{}}
		a.inventory[k] = r
	}
	if it.t > 0 && (r.first == 0 || it.t < r.first) {
		r.first = it.t
	}
	if it.t > r.last {
		r.last = it.t
	}
	if it.format != "" && r.format == "" {
		r.format = it.format
	}
	if it.unsafe || it.format == "pickle" {
		r.unsafe = true
	}
	if it.rule != "" && len(r.rules) < 8 {
		r.rules[it.rule] = struct{}{}
	}
	denied := it.decision == "deny" || it.errType == "policy_denied"
	integrity := it.errType == "integrity_mismatch"
	if (it.isSpan && denied) || it.event == eventPolicyDenied {
		addID(a.denyIDs, &a.denyNoID, it.id)
	}
	if (it.isSpan && integrity) || it.event == eventIntegrity {
		addID(a.integrityIDs, &a.integrityNoID, it.id)
	}
	if it.isSpan {
		switch {
		case denied:
			r.denySpans++
		case integrity:
			r.intSpans++
		case !it.isErr:
			r.loadSpans++
		}
		return
	}
	switch it.event {
	case eventLoadSucceeded:
		r.loadEvts++
	case eventPolicyDenied:
		r.denyEvts++
	case eventIntegrity:
		r.intEvts++
	}
}

func (a *agg) series(model string) *modelSeries {
	s, ok := a.models[model]
	if !ok {
		if len(a.models) >= maxModels {
			model = otherLabel
			if s, ok = a.models[model]; ok {
				return s
			}
		}
		s = &modelSeries{buckets: map[int64]*bucket{}, services: map[string]struct{}{}}
		a.models[model] = s
	}
	return s
}

func (a *agg) addInference(it *item) {
	s := a.series(it.model)
	isErr := it.isErr || it.errType != ""
	s.n++
	s.sumDur += it.dur
	if isErr {
		s.errs++
	}
	if it.service != "" && len(s.services) < 16 {
		s.services[it.service] = struct{}{}
	}
	bk := it.t / bucketNanos
	b, ok := s.buckets[bk]
	if !ok {
		if len(s.buckets) >= maxBucketsModel {
			s.dropped++
			return
		}
		b = &bucket{}
		s.buckets[bk] = b
	}
	b.n++
	b.sumDur += it.dur
	if it.dur > b.maxDur {
		b.maxDur = it.dur
	}
	if isErr {
		b.errs++
	}
	if it.flag {
		b.anomalies++
		s.markers = appendMarker(s.markers, marker{t: it.t, typ: it.typ})
	}
}

// appendMarker keeps the earliest maxMarkers markers.
func appendMarker(ms []marker, m marker) []marker {
	if len(ms) < maxMarkers {
		return append(ms, m)
	}
	latest := 0
	for i := range ms {
		if ms[i].t > ms[latest].t {
			latest = i
		}
	}
	if m.t < ms[latest].t {
		ms[latest] = m
	}
	return ms
}

func (in *incidents) add(it *item, finding bool) {
	in.total++
	typ := it.typ
	if typ == "" {
		typ = "unknown"
	}
	t, ok := in.types[typ]
	if !ok {
		if len(in.types) >= maxTypes {
			typ = otherLabel
			t = in.types[typ]
		}
		if t == nil {
			t = &incidentType{first: it.t, last: it.t, buckets: map[int64]int64{}, keys: map[string]struct{}{}}
			in.types[typ] = t
		}
	}
	t.n++
	if t.technique == "" {
		t.technique = it.technique
	}
	if it.t > 0 && (t.first == 0 || it.t < t.first) {
		t.first = it.t
	}
	if it.t > t.last {
		t.last = it.t
	}
	bk := it.t / bucketNanos
	if _, ok := t.buckets[bk]; ok || len(t.buckets) < maxBucketsType {
		t.buckets[bk]++
	}
	if len(t.keys) < 1000 {
		t.keys[it.key] = struct{}{}
	}
	row := incidentRow{t: it.t, typ: typ, key: it.key, model: it.model, service: it.service, tech: it.technique,
		traceID: it.traceID, spanID: it.spanID, finding: finding}
	if len(in.rows) < 2*maxIncidentRows {
		in.rows = append(in.rows, row)
		return
	}
	// Keep the earliest rows: compact to maxIncidentRows when the buffer is full.
	sort.Slice(in.rows, func(i, j int) bool { return in.rows[i].t < in.rows[j].t })
	in.dropped += int64(len(in.rows) - maxIncidentRows)
	in.rows = append(in.rows[:maxIncidentRows], row)
}

func (in *incidents) merge(o *incidents) {
	in.total += o.total
	in.dropped += o.dropped
	for name, ot := range o.types {
		t, ok := in.types[name]
		if !ok {
			in.types[name] = ot
			continue
		}
		t.n += ot.n
		if t.technique == "" {
			t.technique = ot.technique
		}
		t.first = minPos(t.first, ot.first)
		t.last = max(t.last, ot.last)
		for k, v := range ot.buckets {
			if _, ok := t.buckets[k]; ok || len(t.buckets) < maxBucketsType {
				t.buckets[k] += v
			}
		}
		for k := range ot.keys {
			if len(t.keys) < 1000 {
				t.keys[k] = struct{}{}
			}
		}
	}
	in.rows = append(in.rows, o.rows...)
	sort.Slice(in.rows, func(i, j int) bool { return in.rows[i].t < in.rows[j].t })
	if len(in.rows) > maxIncidentRows {
		in.dropped += int64(len(in.rows) - maxIncidentRows)
		in.rows = in.rows[:maxIncidentRows]
	}
}

func minPos(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func (a *agg) merge(o *agg) {
	a.spans += o.spans
	a.logs += o.logs
	a.points += o.points
	a.lines += o.lines
	a.malformed += o.malformed
	for _, m := range o.malformedMsgs {
		if len(a.malformedMsgs) < maxErrorsShown {
			a.malformedMsgs = append(a.malformedMsgs, m)
		}
	}
	a.minT = minPos(a.minT, o.minT)
	a.maxT = max(a.maxT, o.maxT)
	for id := range o.denyIDs {
		addID(a.denyIDs, &a.denyNoID, id)
	}
	for id := range o.integrityIDs {
		addID(a.integrityIDs, &a.integrityNoID, id)
	}
	a.denyNoID += o.denyNoID
	a.integrityNoID += o.integrityNoID
	for name, os := range o.models {
		s, ok := a.models[name]
		if !ok {
			if len(a.models) >= maxModels && name != otherLabel {
				name = otherLabel
				s, ok = a.models[name]
			}
			if !ok {
				a.models[name] = os
				continue
			}
		}
		s.n += os.n
		s.errs += os.errs
		s.sumDur += os.sumDur
		s.dropped += os.dropped
		for k := range os.services {
			if len(s.services) < 16 {
				s.services[k] = struct{}{}
			}
		}
		for k, ob := range os.buckets {
			b, ok := s.buckets[k]
			if !ok {
				if len(s.buckets) >= maxBucketsModel {
					s.dropped += ob.n
					continue
				}
				s.buckets[k] = ob
				continue
			}
			b.n += ob.n
			b.errs += ob.errs
			b.sumDur += ob.sumDur
			b.maxDur = max(b.maxDur, ob.maxDur)
			b.anomalies += ob.anomalies
		}
		for _, m := range os.markers {
			s.markers = appendMarker(s.markers, m)
		}
	}
	for k, or := range o.inventory {
		r, ok := a.inventory[k]
		if !ok {
			if len(a.inventory) >= maxInventory {
				a.invDropped++
				continue
			}
			a.inventory[k] = or
			continue
		}
		r.first = minPos(r.first, or.first)
		r.last = max(r.last, or.last)
		r.loadSpans += or.loadSpans
		r.loadEvts += or.loadEvts
		r.denySpans += or.denySpans
		r.denyEvts += or.denyEvts
		r.intSpans += or.intSpans
		r.intEvts += or.intEvts
		r.unsafe = r.unsafe || or.unsafe
		if r.format == "" {
			r.format = or.format
		}
		for k := range or.rules {
			if len(r.rules) < 8 {
				r.rules[k] = struct{}{}
			}
		}
	}
	a.invDropped += o.invDropped
	for k, oc := range o.callers {
		c, ok := a.callers[k]
		if !ok {
			if len(a.callers) >= maxCallers {
				a.callersLost += oc.spans + oc.events
				continue
			}
			a.callers[k] = oc
			continue
		}
		c.spans += oc.spans
		c.events += oc.events
	}
	a.callersLost += o.callersLost
	a.flags.merge(o.flags)
	a.findings.merge(o.findings)
}

// Derived counts. A load or denial is recorded both as a span and as an event by the
// instrumentation; exports may hold either or both, so each count is the larger of the two.
func (r *invRow) loads() int64     { return max(r.loadSpans, r.loadEvts) }
func (r *invRow) denials() int64   { return max(r.denySpans, r.denyEvts) }
func (r *invRow) integrity() int64 { return max(r.intSpans, r.intEvts) }
func (c *caller) requests() int64  { return max(c.spans, c.events) }
func (a *agg) records() int64      { return a.spans + a.logs + a.points }
func (a *agg) denials() int64      { return int64(len(a.denyIDs)) + a.denyNoID }
func (a *agg) integrity() int64    { return int64(len(a.integrityIDs)) + a.integrityNoID }
func fmtTime(ns int64) string {
	if ns <= 0 {
		return "-"
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05Z")
}

// clean makes a string from the input safe for a terminal or a table: control and bidi
// characters escaped, length bounded with a visible marker.
func clean(s string) string {
	trunc := len(s) > maxStringInTable
	if trunc {
		s = s[:maxStringInTable]
	}
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	if trunc {
		q += "…[truncated]"
	}
	return q
}
