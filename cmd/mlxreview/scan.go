package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The selective reader: a strict scanner for the OTLP JSON the collector's file exporter
// writes, reading only what the review uses.
//
// pdata's unmarshaler decodes every field of every record into objects; the review needs a
// dozen attributes, times, status and ids. The scanner below reads one export request line,
// validates all of it, and extracts those fields, at a fraction of the cost.
//
// It accepts a strict subset of what pdata accepts: RFC 8259 JSON, the canonical
// (camelCase) OTLP field names of traces and logs, each field at most once per object,
// numbers without sign, fraction or exponent where OTLP has integers, no null. Anything
// outside that subset (snake_case names, unknown or repeated fields, enum names, metrics,
// surrogate escapes, ...) makes it give the line back to pdata's decoder, which stays the
// reference: so a line reads the same, and a malformed line is reported with pdata's own
// message, whichever reader handled it. The aggregate is touched only once the whole line
// was read, so a line handed back is never counted twice. FuzzSelectiveMatchesPdata checks
// the two readers against each other on arbitrary input.

// handBack is the panic value by which the scanner leaves a line to pdata.
type handBack struct{}

// maxValueDepth bounds the nesting of array and kvlist attribute values the scanner follows
// (deeper values go to pdata).
const maxValueDepth = 16

// scanClass marks the bytes that end the plain run of a JSON string: the quote, the
// backslash and the control characters.
var scanClass = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// Attribute keys the review reads, as small integers for the scanner.
const (
	kOther = iota
	kOperation
	kModel
	kDigest
	kSource
	kFormat
	kUnsafe
	kDecision
	kRule
	kCaller
	kErrorType
	kFlag
	kType
	kKey
	kTechnique
	kService
)

func attrKind(k []byte) int {
	switch string(k) {
	case attrOperation:
		return kOperation
	case attrModel:
		return kModel
	case attrDigest:
		return kDigest
	case attrSource:
		return kSource
	case attrFormat:
		return kFormat
	case attrUnsafe:
		return kUnsafe
	case attrDecision:
		return kDecision
	case attrRule:
		return kRule
	case attrCaller:
		return kCaller
	case attrErrorType:
		return kErrorType
	case attrFlag:
		return kFlag
	case attrType:
		return kType
	case attrKey:
		return kKey
	case attrTechnique:
		return kTechnique
	case attrService:
		return kService
	}
	return kOther
}

// anyValue is the top level of an attribute value, as far as the review reads it.
type anyValue struct {
	kind  pcommon.ValueType
	str   []byte // string values (may alias the scanner's scratch buffer)
	b     bool
	i     int64
	other bool // double, bytes, array or map: read and validated, not kept
}

// scanner reads one line. Its methods panic with handBack when the input leaves the subset.
type scanner struct {
	b     []byte
	i     int
	field []byte // scratch for object field names with escapes
	key   []byte // scratch for attribute keys with escapes
	val   []byte // scratch for values with escapes
	tmp   []byte // scratch for validated, discarded values
	ids   [16]byte

	in    *interner
	items []item
}

func (s *scanner) out() { panic(handBack{}) }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i] // the exporter writes no whitespace
	}
	s.ws()
	if s.i >= len(s.b) {
		s.out()
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) {
	if s.peek() != c {
		s.out()
	}
	s.i++
}

// member reads the next member's key and colon of an object opened by open; false at its
// end. n counts the members read so far.
func (s *scanner) member(n *int) ([]byte, bool) {
	c := s.peek()
	if c == '}' && *n == 0 {
		s.i++
		return nil, false
	}
	if *n > 0 {
		if c == '}' {
			s.i++
			return nil, false
		}
		s.expect(',')
	}
	*n++
	k := s.str(&s.field)
	s.expect(':')
	return k, true
}

// elem reports whether another element follows in an array opened with expect('[').
func (s *scanner) elem(n *int) bool {
	c := s.peek()
	if c == ']' {
		s.i++
		return false
	}
	if *n > 0 {
		s.expect(',')
	}
	*n++
	return true
}

// once marks field bit f as seen in *seen; a repeated field goes to pdata.
func (s *scanner) once(seen *uint32, f uint) {
	if *seen&(1<<f) != 0 {
		s.out()
	}
	*seen |= 1 << f
}

// str reads a string. Without escapes it is a slice of the line; with them it is decoded
// into *dst as jsoniter (pdata's JSON library) decodes it. Control characters and
// surrogate escapes go to pdata.
func (s *scanner) str(dst *[]byte) []byte {
	s.expect('"')
	start := s.i
	b := s.b
	i := plainRun(b, s.i)
	if i >= len(b) {
		s.out()
	}
	if b[i] == '"' {
		s.i = i + 1
		return b[start:i]
	}
	if b[i] != '\\' {
		s.out() // a control character
	}
	d := append((*dst)[:0], b[start:i]...)
	for {
		for i < len(b) && !scanClass[b[i]] {
			d = append(d, b[i])
			i++
		}
		if i >= len(b) || b[i] < 0x20 {
			s.out()
		}
		if b[i] == '"' {
			s.i = i + 1
			*dst = d
			return d
		}
		// a backslash
		if i+1 >= len(b) {
			s.out()
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			d = append(d, b[i])
		case 'b':
			d = append(d, '\b')
		case 'f':
			d = append(d, '\f')
		case 'n':
			d = append(d, '\n')
		case 'r':
			d = append(d, '\r')
		case 't':
			d = append(d, '\t')
		case 'u':
			if i+4 >= len(b) {
				s.out()
			}
			var r rune
			for _, c := range b[i+1 : i+5] {
				v, ok := hexVal(c)
				if !ok {
					s.out()
				}
				r = r<<4 | rune(v)
			}
			if utf16.IsSurrogate(r) {
				s.out()
			}
			d = utf8.AppendRune(d, r)
			i += 4
		default:
			s.out()
		}
		i++
	}
}

// plainRun returns the index of the first byte from i on that ends a string's plain run (a
// quote, a backslash or a control character), or len(b). Eight bytes are tested at a time:
// a byte of w equal to '"' or '\\', or below 0x20, sets the high bit of its byte in the mask
// (the lowest set bit marks the first such byte exactly).
func plainRun(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^(lo*'"'), w^(lo*'\\')
		if m := ((q-lo)&^q | (bs-lo)&^bs | (w-lo*0x20)&^w) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && !scanClass[b[i]] {
		i++
	}
	return i
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// digits reads an unsigned decimal integer without leading zeros (as a JSON number) or with
// them (in a string, as strconv reads it), at most max.
func digits(p []byte, number bool, max uint64) (uint64, bool) {
	if len(p) == 0 || len(p) > 20 || number && len(p) > 1 && p[0] == '0' {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// number returns the bytes of a JSON number at the cursor (validated as RFC 8259 grammar).
func (s *scanner) number() []byte {
	s.ws()
	b, start := s.b, s.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	d := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == d || b[d] == '0' && i-d > 1 {
		s.out()
	}
	if i < len(b) && b[i] == '.' {
		i++
		f := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == f {
			s.out()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		e := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == e {
			s.out()
		}
	}
	s.i = i
	return b[start:i]
}

// uint reads an OTLP unsigned integer: a JSON number or a decimal string.
func (s *scanner) uint(max uint64) uint64 {
	var v uint64
	var ok bool
	if s.peek() == '"' {
		v, ok = digits(s.str(&s.tmp), false, max)
	} else {
		v, ok = digits(s.number(), true, max)
	}
	if !ok {
		s.out()
	}
	return v
}

// int reads an OTLP signed integer (number or string) within [-lim-1, lim].
func (s *scanner) int(lim uint64) int64 {
	var p []byte
	number := s.peek() != '"'
	if number {
		p = s.number()
	} else {
		p = s.str(&s.tmp)
	}
	neg := len(p) > 0 && p[0] == '-'
	if neg {
		p = p[1:]
	}
	max := lim
	if neg {
		max = lim + 1
	}
	v, ok := digits(p, number, max)
	if !ok {
		s.out()
	}
	if neg {
		return -int64(v) // -(1<<63) wraps to itself, as it should
	}
	return int64(v)
}

// enum reads an enum as its number (names go to pdata).
func (s *scanner) enum() int32 {
	if s.peek() == '"' {
		s.out()
	}
	return int32(s.int(1<<31 - 1))
}

// id reads a hex trace or span id of len(dst) bytes, or an empty string for none. pdata
// reads ids as raw bytes (jsoniter decodes no escapes in them), so an id with a backslash
// goes to pdata.
func (s *scanner) id(dst []byte) {
	s.ws()
	start := s.i
	p := s.str(&s.tmp)
	if containsByte(s.b[start:s.i], '\\') {
		s.out()
	}
	if len(p) == 0 {
		clear(dst)
		return
	}
	if len(p) != 2*len(dst) {
		s.out()
	}
	if _, err := hex.Decode(dst, p); err != nil {
		s.out()
	}
}

func containsByte(p []byte, c byte) bool {
	for _, x := range p {
		if x == c {
			return true
		}
	}
	return false
}

func (s *scanner) literal(w string) {
	s.ws()
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		s.out()
	}
	s.i += len(w)
}

// value reads an AnyValue; depth bounds nested arrays and kvlists.
func (s *scanner) value(v *anyValue, dst *[]byte, depth int) {
	if depth > maxValueDepth {
		s.out()
	}
	*v = anyValue{}
	// The exporter's string value, {"stringValue":S}, read directly (a second member would go
	// to pdata either way).
	if rest := s.b[s.i:]; len(rest) > 15 && string(rest[:15]) == `{"stringValue":` {
		s.i += 15
		v.kind, v.str = pcommon.ValueTypeStr, s.str(dst)
		s.expect('}')
		return
	}
	s.expect('{')
	n := 0
	for {
		k, ok := s.member(&n)
		if !ok {
			return
		}
		if n > 1 {
			s.out() // a oneof with two members: pdata keeps the last; rare enough to leave to it
		}
		switch string(k) {
		case "stringValue":
			v.kind, v.str = pcommon.ValueTypeStr, s.str(dst)
		case "boolValue":
			v.kind = pcommon.ValueTypeBool
			if s.peek() == 't' {
				s.literal("true")
				v.b = true
			} else {
				s.literal("false")
			}
		case "intValue":
			v.kind, v.i = pcommon.ValueTypeInt, s.int(1<<63-1)
		case "doubleValue":
			if s.peek() == '"' {
				s.out()
			}
			// A number without an exponent and with at most 300 integer digits is finite: only
			// the others can be out of range, which jsoniter reports as an error.
			if n := s.number(); len(n) > 300 || bytes.ContainsAny(n, "eE") {
				if _, err := strconv.ParseFloat(string(n), 64); err != nil {
					s.out()
				}
			}
			v.kind, v.other = pcommon.ValueTypeDouble, true
		case "bytesValue":
			s.ws()
			start := s.i
			p := s.str(&s.tmp)
			if containsByte(s.b[start:s.i], '\\') {
				s.out()
			}
			if len(p) > 0 {
				if cap(s.tmp) < base64.StdEncoding.DecodedLen(len(p)) {
					s.tmp = make([]byte, base64.StdEncoding.DecodedLen(len(p)))
				}
				if _, err := base64.StdEncoding.Decode(s.tmp[:cap(s.tmp)], p); err != nil {
					s.out()
				}
			}
			v.kind, v.other = pcommon.ValueTypeBytes, true
		case "arrayValue", "kvlistValue":
			kv := string(k) == "kvlistValue"
			s.expect('{')
			m := 0
			for {
				f, ok := s.member(&m)
				if !ok {
					break
				}
				if m > 1 || string(f) != "values" {
					s.out()
				}
				s.expect('[')
				e := 0
				var inner anyValue
				for s.elem(&e) {
					if kv {
						s.keyValue(&inner, depth+1, &s.tmp, &s.tmp)
					} else {
						s.value(&inner, &s.tmp, depth+1)
					}
				}
			}
			v.kind, v.other = pcommon.ValueTypeSlice, true
			if kv {
				v.kind = pcommon.ValueTypeMap
			}
		default:
			s.out()
		}
	}
}

// keyValue reads one attribute into v and returns its key (in the key scratch or the line).
// kdst and vdst are the scratch buffers for an escaped key and string value.
func (s *scanner) keyValue(v *anyValue, depth int, kdst, vdst *[]byte) []byte {
	// The exporter's form, {"key":K,"value":V} without whitespace, is read directly; any other
	// form takes the general way below. Both read the same: a member after the value is one the
	// general way refuses too (a repeated key or value, or an unknown field).
	if rest := s.b[s.i:]; len(rest) > 8 && string(rest[:7]) == `{"key":` {
		s.i += 7
		key := s.str(kdst)
		if rest := s.b[s.i:]; len(rest) > 9 && string(rest[:9]) == `,"value":` {
			s.i += 9
			s.value(v, vdst, depth)
			s.expect('}')
			return key
		}
		s.out()
	}
	s.expect('{')
	var key []byte
	*v = anyValue{}
	var seen uint32
	n := 0
	for {
		k, ok := s.member(&n)
		if !ok {
			return key
		}
		switch string(k) {
		case "key":
			s.once(&seen, 0)
			key = s.str(kdst)
		case "value":
			s.once(&seen, 1)
			s.value(v, vdst, depth)
		default:
			s.out()
		}
	}
}

// asString is pcommon.Value.AsString for the value types the review reads.
func (v *anyValue) asString(in *interner) string {
	switch v.kind {
	case pcommon.ValueTypeEmpty:
		return ""
	case pcommon.ValueTypeStr:
		return in.str(v.str)
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.b)
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.i, 10)
	}
	return "\x00" // never: the caller hands such a value to pdata
}

// attrs reads an attribute list into it, as item.read does with pdata's map.
func (s *scanner) attrs(it *item) {
	s.expect('[')
	n := 0
	var v anyValue
	for s.elem(&n) {
		k := s.keyValue(&v, 0, &s.key, &s.val)
		kind := attrKind(k)
		if kind == kOther {
			continue
		}
		if v.other {
			s.out() // AsString of a double, bytes, array or map: left to pdata
		}
		it.set(kind, v.asString(s.in), v.kind == pcommon.ValueTypeBool && v.b)
	}
}

// skipAttrs validates an attribute list the review does not read.
func (s *scanner) skipAttrs() {
	s.expect('[')
	n := 0
	var v anyValue
	for s.elem(&n) {
		s.keyValue(&v, 0, &s.key, &s.val)
	}
}

// resource reads a resource; its service is the first service.name attribute (as
// pcommon.Map.Get finds it).
func (s *scanner) resource() (svc string) {
	s.expect('{')
	var seen uint32
	n := 0
	found := false
	for {
		k, ok := s.member(&n)
		if !ok {
			return svc
		}
		switch string(k) {
		case "attributes":
			s.once(&seen, 0)
			s.expect('[')
			e := 0
			var v anyValue
			for s.elem(&e) {
				key := s.keyValue(&v, 0, &s.key, &s.val)
				if !found && string(key) == attrService {
					if v.other {
						s.out()
					}
					svc, found = v.asString(s.in), true
				}
			}
		case "droppedAttributesCount":
			s.once(&seen, 1)
			s.uint(1<<32 - 1)
		default:
			s.out()
		}
	}
}

func (s *scanner) scope() {
	s.expect('{')
	var seen uint32
	n := 0
	for {
		k, ok := s.member(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "name":
			s.once(&seen, 0)
			s.str(&s.tmp)
		case "version":
			s.once(&seen, 1)
			s.str(&s.tmp)
		case "attributes":
			s.once(&seen, 2)
			s.skipAttrs()
		case "droppedAttributesCount":
			s.once(&seen, 3)
			s.uint(1<<32 - 1)
		default:
			s.out()
		}
	}
}

// request reads the top level: {"resourceSpans":[...]} or {"resourceLogs":[...]}.
func (s *scanner) request(traces bool) {
	s.expect('{')
	n := 0
	want := "resourceLogs"
	if traces {
		want = "resourceSpans"
	}
	for {
		k, ok := s.member(&n)
		if !ok {
			break
		}
		if n > 1 || string(k) != want {
			s.out()
		}
		s.expect('[')
		e := 0
		for s.elem(&e) {
			s.resourceGroup(traces)
		}
	}
	s.ws()
	if s.i != len(s.b) {
		s.out() // trailing bytes: pdata ignores them; leave the judgement to it
	}
}

// resourceGroup reads one ResourceSpans or ResourceLogs; the resource's service applies to
// the items of the group wherever the resource stands in it.
func (s *scanner) resourceGroup(traces bool) {
	s.expect('{')
	first := len(s.items)
	var seen uint32
	var svc string
	n := 0
	list := "scopeLogs"
	if traces {
		list = "scopeSpans"
	}
	for {
		k, ok := s.member(&n)
		if !ok {
			break
		}
		switch string(k) {
		case "resource":
			s.once(&seen, 0)
			svc = s.resource()
		case list:
			s.once(&seen, 1)
			s.expect('[')
			e := 0
			for s.elem(&e) {
				s.scopeGroup(traces)
			}
		case "schemaUrl":
			s.once(&seen, 2)
			s.str(&s.tmp)
		default:
			s.out()
		}
	}
	// item.service holds the first service.name of the record's own attributes until here.
	for i := first; i < len(s.items); i++ {
		if svc != "" {
			s.items[i].service = svc
		}
	}
}

func (s *scanner) scopeGroup(traces bool) {
	s.expect('{')
	var seen uint32
	n := 0
	list := "logRecords"
	if traces {
		list = "spans"
	}
	for {
		k, ok := s.member(&n)
		if !ok {
			return
		}
		switch string(k) {
		case "scope":
			s.once(&seen, 0)
			s.scope()
		case list:
			s.once(&seen, 1)
			s.expect('[')
			e := 0
			for s.elem(&e) {
				if traces {
					s.span()
				} else {
					s.logRecord()
				}
			}
		case "schemaUrl":
			s.once(&seen, 2)
			s.str(&s.tmp)
		default:
			s.out()
		}
	}
}

func (s *scanner) span() {
	s.expect('{')
	s.items = append(s.items, item{isSpan: true})
	it := &s.items[len(s.items)-1]
	var traceID pcommon.TraceID
	var start, end uint64
	var code int32
	var seen uint32
	n := 0
	for {
		k, ok := s.member(&n)
		if !ok {
			break
		}
		switch string(k) {
		case "traceId":
			s.once(&seen, 0)
			s.id(traceID[:])
		case "spanId":
			s.once(&seen, 1)
			s.id(it.id[:])
		case "traceState":
			s.once(&seen, 2)
			s.str(&s.tmp)
		case "parentSpanId":
			s.once(&seen, 3)
			s.id(s.ids[:8])
		case "flags":
			s.once(&seen, 4)
			s.uint(1<<32 - 1)
		case "name":
			s.once(&seen, 5)
			s.str(&s.tmp)
		case "kind":
			s.once(&seen, 6)
			s.enum()
		case "startTimeUnixNano":
			s.once(&seen, 7)
			start = s.uint(1<<64 - 1)
		case "endTimeUnixNano":
			s.once(&seen, 8)
			end = s.uint(1<<64 - 1)
		case "attributes":
			s.once(&seen, 9)
			s.attrs(it)
		case "droppedAttributesCount":
			s.once(&seen, 10)
			s.uint(1<<32 - 1)
		case "events":
			s.once(&seen, 11)
			s.events()
		case "droppedEventsCount":
			s.once(&seen, 12)
			s.uint(1<<32 - 1)
		case "links":
			s.once(&seen, 13)
			s.links()
		case "droppedLinksCount":
			s.once(&seen, 14)
			s.uint(1<<32 - 1)
		case "status":
			s.once(&seen, 15)
			code = s.status()
		default:
			s.out()
		}
	}
	// As agg.addTraces reads a pdata span.
	e, st := int64(end), int64(start)
	it.t = e
	if st > 0 && e >= st {
		it.dur = float64(e-st) / 1e9
	}
	it.isErr = code == int32(2) // STATUS_CODE_ERROR
	if it.flag {
		it.traceID = traceHex(traceID)
		it.spanID = spanHex(it.id)
	}
}

func (s *scanner) status() int32 {
	s.expect('{')
	var seen uint32
	var code int32
	n := 0
	for {
		k, ok := s.member(&n)
		if !ok {
			return code
		}
		switch string(k) {
		case "message":
			s.once(&seen, 0)
			s.str(&s.tmp)
		case "code":
			s.once(&seen, 1)
			code = s.enum()
		default:
			s.out()
		}
	}
}

func (s *scanner) events() {
	s.expect('[')
	e := 0
	for s.elem(&e) {
		s.expect('{')
		var seen uint32
		n := 0
		for {
			k, ok := s.member(&n)
			if !ok {
				break
			}
			switch string(k) {
			case "timeUnixNano":
				s.once(&seen, 0)
				s.uint(1<<64 - 1)
			case "name":
				s.once(&seen, 1)
				s.str(&s.tmp)
			case "attributes":
				s.once(&seen, 2)
				s.skipAttrs()
			case "droppedAttributesCount":
				s.once(&seen, 3)
				s.uint(1<<32 - 1)
			default:
				s.out()
			}
		}
	}
}

func (s *scanner) links() {
	s.expect('[')
	e := 0
	for s.elem(&e) {
		s.expect('{')
		var seen uint32
		n := 0
		for {
			k, ok := s.member(&n)
			if !ok {
				break
			}
			switch string(k) {
			case "traceId":
				s.once(&seen, 0)
				s.id(s.ids[:16])
			case "spanId":
				s.once(&seen, 1)
				s.id(s.ids[:8])
			case "traceState":
				s.once(&seen, 2)
				s.str(&s.tmp)
			case "attributes":
				s.once(&seen, 3)
				s.skipAttrs()
			case "droppedAttributesCount":
				s.once(&seen, 4)
				s.uint(1<<32 - 1)
			case "flags":
				s.once(&seen, 5)
				s.uint(1<<32 - 1)
			default:
				s.out()
			}
		}
	}
}

func (s *scanner) logRecord() {
	s.expect('{')
	s.items = append(s.items, item{})
	it := &s.items[len(s.items)-1]
	var traceID pcommon.TraceID
	var t, observed uint64
	var seen uint32
	var body anyValue
	n := 0
	for {
		k, ok := s.member(&n)
		if !ok {
			break
		}
		switch string(k) {
		case "timeUnixNano":
			s.once(&seen, 0)
			t = s.uint(1<<64 - 1)
		case "observedTimeUnixNano":
			s.once(&seen, 1)
			observed = s.uint(1<<64 - 1)
		case "severityNumber":
			s.once(&seen, 2)
			s.enum()
		case "severityText":
			s.once(&seen, 3)
			s.str(&s.tmp)
		case "body":
			s.once(&seen, 4)
			s.value(&body, &s.tmp, 0)
		case "attributes":
			s.once(&seen, 5)
			s.attrs(it)
		case "droppedAttributesCount":
			s.once(&seen, 6)
			s.uint(1<<32 - 1)
		case "flags":
			s.once(&seen, 7)
			s.uint(1<<32 - 1)
		case "traceId":
			s.once(&seen, 8)
			s.id(traceID[:])
		case "spanId":
			s.once(&seen, 9)
			s.id(it.id[:])
		case "eventName":
			s.once(&seen, 10)
			it.event = s.in.str(s.str(&s.val))
		default:
			s.out()
		}
	}
	// As agg.addLogs reads a pdata log record.
	it.t = int64(t)
	if it.t == 0 {
		it.t = int64(observed)
	}
	if it.flag || it.event == eventFinding {
		it.traceID = traceHex(traceID)
		it.spanID = spanHex(it.id)
	}
}

// scanLine reads one traces or logs request line with the selective reader and adds its
// records to a; false leaves the line, and a, untouched for pdata.
func (s *scanner) scanLine(line []byte, traces bool, a *agg) (ok bool) {
	s.b, s.i, s.items = line, 0, s.items[:0]
	defer func() {
		if r := recover(); r != nil {
			if _, is := r.(handBack); !is {
				panic(r)
			}
			ok = false
		}
		s.b = nil
	}()
	s.request(traces)
	for i := range s.items {
		if s.items[i].isSpan {
			a.spans++
		} else {
			a.logs++
		}
		a.add(&s.items[i])
	}
	return true
}

// interner turns the scanner's byte strings into strings, allocating once per distinct
// value while it holds fewer than maxInterned of them (then it starts afresh).
type interner struct{ m map[string]string }

const maxInterned = 1 << 14

func (in *interner) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 1024)
	}
	s := string(b)
	in.m[s] = s
	return s
}
