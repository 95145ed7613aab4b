package pickle

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"slices"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Opcodes (pickletools names).
const (
	opMARK            = '('
	opSTOP            = '.'
	opPOP             = '0'
	opPOPMARK         = '1'
	opDUP             = '2'
	opFLOAT           = 'F'
	opINT             = 'I'
	opBININT          = 'J'
	opBININT1         = 'K'
	opLONG            = 'L'
	opBININT2         = 'M'
	opNONE            = 'N'
	opPERSID          = 'P'
	opBINPERSID       = 'Q'
	opREDUCE          = 'R'
	opSTRING          = 'S'
	opBINSTRING       = 'T'
	opSHORTBINSTRING  = 'U'
	opUNICODE         = 'V'
	opBINUNICODE      = 'X'
	opAPPEND          = 'a'
	opBUILD           = 'b'
	opGLOBAL          = 'c'
	opDICT            = 'd'
	opEMPTYDICT       = '}'
	opAPPENDS         = 'e'
	opGET             = 'g'
	opBINGET          = 'h'
	opINST            = 'i'
	opLONGBINGET      = 'j'
	opLIST            = 'l'
	opEMPTYLIST       = ']'
	opOBJ             = 'o'
	opPUT             = 'p'
	opBINPUT          = 'q'
	opLONGBINPUT      = 'r'
	opSETITEM         = 's'
	opTUPLE           = 't'
	opEMPTYTUPLE      = ')'
	opSETITEMS        = 'u'
	opBINFLOAT        = 'G'
	opPROTO           = 0x80
	opNEWOBJ          = 0x81
	opEXT1            = 0x82
	opEXT2            = 0x83
	opEXT4            = 0x84
	opTUPLE1          = 0x85
	opTUPLE2          = 0x86
	opTUPLE3          = 0x87
	opNEWTRUE         = 0x88
	opNEWFALSE        = 0x89
	opLONG1           = 0x8a
	opLONG4           = 0x8b
	opBINBYTES        = 'B'
	opSHORTBINBYTES   = 'C'
	opSHORTBINUNICODE = 0x8c
	opBINUNICODE8     = 0x8d
	opBINBYTES8       = 0x8e
	opEMPTYSET        = 0x8f
	opADDITEMS        = 0x90
	opFROZENSET       = 0x91
	opNEWOBJEX        = 0x92
	opSTACKGLOBAL     = 0x93
	opMEMOIZE         = 0x94
	opFRAME           = 0x95
	opBYTEARRAY8      = 0x96
	opNEXTBUFFER      = 0x97
	opREADONLYBUFFER  = 0x98
)

var opNames = [256]string{
	opMARK: "MARK", opSTOP: "STOP", opPOP: "POP", opPOPMARK: "POP_MARK", opDUP: "DUP",
	opFLOAT: "FLOAT", opINT: "INT", opBININT: "BININT", opBININT1: "BININT1", opLONG: "LONG",
	opBININT2: "BININT2", opNONE: "NONE", opPERSID: "PERSID", opBINPERSID: "BINPERSID",
	opREDUCE: "REDUCE", opSTRING: "STRING", opBINSTRING: "BINSTRING",
	opSHORTBINSTRING: "SHORT_BINSTRING", opUNICODE: "UNICODE", opBINUNICODE: "BINUNICODE",
	opAPPEND: "APPEND", opBUILD: "BUILD", opGLOBAL: "GLOBAL", opDICT: "DICT",
	opEMPTYDICT: "EMPTY_DICT", opAPPENDS: "APPENDS", opGET: "GET", opBINGET: "BINGET",
	opINST: "INST", opLONGBINGET: "LONG_BINGET", opLIST: "LIST", opEMPTYLIST: "EMPTY_LIST",
	opOBJ: "OBJ", opPUT: "PUT", opBINPUT: "BINPUT", opLONGBINPUT: "LONG_BINPUT",
	opSETITEM: "SETITEM", opTUPLE: "TUPLE", opEMPTYTUPLE: "EMPTY_TUPLE", opSETITEMS: "SETITEMS",
	opBINFLOAT: "BINFLOAT", opPROTO: "PROTO", opNEWOBJ: "NEWOBJ", opEXT1: "EXT1", opEXT2: "EXT2",
	opEXT4: "EXT4", opTUPLE1: "TUPLE1", opTUPLE2: "TUPLE2", opTUPLE3: "TUPLE3",
	opNEWTRUE: "NEWTRUE", opNEWFALSE: "NEWFALSE", opLONG1: "LONG1", opLONG4: "LONG4",
	opBINBYTES: "BINBYTES", opSHORTBINBYTES: "SHORT_BINBYTES",
	opSHORTBINUNICODE: "SHORT_BINUNICODE", opBINUNICODE8: "BINUNICODE8",
	opBINBYTES8: "BINBYTES8", opEMPTYSET: "EMPTY_SET", opADDITEMS: "ADDITEMS",
	opFROZENSET: "FROZENSET", opNEWOBJEX: "NEWOBJ_EX", opSTACKGLOBAL: "STACK_GLOBAL",
	opMEMOIZE: "MEMOIZE", opFRAME: "FRAME", opBYTEARRAY8: "BYTEARRAY8",
	opNEXTBUFFER: "NEXT_BUFFER", opREADONLYBUFFER: "READONLY_BUFFER",
}

// highestProtocol is CPython's pickle.HIGHEST_PROTOCOL; PROTO above it is refused there too.
const highestProtocol = 5

// Kinds of symbolic stack values. Only what STACK_GLOBAL and the call opcodes need is tracked:
// strings (to resolve module and name) and globals (to mark them called).
const (
	kUnset uint8 = iota // an empty memo slot
	kOther
	kString
	kGlobal
	kInput // a string whose bytes are ScanBytes' input at (off, n): not copied
)

// value is a symbolic stack or memo entry. A string's bytes live in the scanner's arena
// (off, n), or for ScanBytes in the input itself; a string too long to retain has n < 0 and
// cannot name a module.
type value struct {
	kind uint8
	off  int32
	n    int32 // string length in the arena, -1 when not retained; global index for kGlobal
}

// maxArena bounds the bytes of retained strings (memo and stack together).
const maxArena = 8 << 20

type scanner struct {
	lim   Limits
	in    input
	res   Result
	stack []value
	marks []int // start index in stack of each open MARK frame
	memo  []value
	memoN int              // distinct memo keys (len(memo) in CPython terms)
	memoX map[uint64]value // sparse indices beyond the dense memo slice
	arena []byte
	// retained counts the bytes of retained strings, copied or not, against maxArena.
	retained int
	seen     map[string]int // by globalKey: index into res.Globals, or -1 when dropped
	// names and key are scratch space for GLOBAL's two lines and the seen key, so that a
	// global seen before costs no allocation (a stream may import the same one millions of
	// times).
	names, key []byte
	op         byte
	opOff      int64
	// slow turns fast off: the tests compare the two paths on the same input.
	slow bool
}

// scanners keeps the working memory (stack, memo, string arena, read window) of finished
// scans for the next one: scans come in runs (every file of a model, every member of an
// archive), and a scanner that grows these from nothing scans a dense stream markedly slower
// (BenchmarkScanDense/file-cold). What a scan returns is never pooled.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

// maxPooled bounds the bytes of each slice a pooled scanner keeps, so one huge stream does
// not pin its working memory after it is done (the pool itself empties over two GC cycles).
const maxPooled = 8 << 20

func newScanner(lim Limits) *scanner {
	s := scanners.Get().(*scanner)
	s.lim = lim.withDefaults()
	return s
}

// release returns the scanner's working memory to the pool. The result has been handed out
// and is not touched again; a caller's byte slice is never kept.
func (s *scanner) release() {
	buf := s.in.buf
	if s.in.rd == nil && s.in.ra == nil || len(buf) != bufSize {
		buf = nil // the caller's bytes (ScanBytes), or a window grown for a long line
	}
	*s = scanner{
		in:    input{buf: buf},
		stack: keep(s.stack[:0]),
		marks: keep(s.marks[:0]),
		memo:  keep(s.memo[:0]),
		arena: keep(s.arena[:0]),
		names: keep(s.names[:0]),
		key:   keep(s.key[:0]),
	}
	scanners.Put(s)
}

// presize gives a scanner with less room its first memo and, when strings are copied, arena
// capacity from the size of the input, so that a scan with an empty pool does not grow them
// from nothing by doubling. Every memo entry takes at least a byte of input and a dense state
// dict holds a memoized value per 40 bytes and a retained string byte per two; the hints are
// capped (768 KiB of memo, 2 MiB of arena), so a large file with few opcodes costs little.
func (s *scanner) presize(size int64, copies bool) {
	s.memo = grow(s.memo, int(min(size/32, 1<<16)))
	if copies {
		s.arena = grow(s.arena, int(min(size/2, 2<<20)))
	}
}

// grow makes room for n more elements, at least doubling the capacity when it must grow.
// append grows large slices by a quarter, which for the memo and the arena of a dense stream
// allocated five times their final size; doubling keeps it to two, and fast (which only fills
// what capacity there is) stops for step less often.
func grow[T any](v []T, n int) []T {
	if n <= cap(v)-len(v) {
		return v
	}
	return slices.Grow(v, max(n, cap(v), 64))
}

func keep[T any](v []T) []T {
	var zero T
	if uintptr(cap(v))*unsafe.Sizeof(zero) > maxPooled {
		return nil
	}
	return v
}

func (s *scanner) fail(kind error, reason string) error {
	return &Error{Offset: s.opOff, Op: s.op, Reason: reason, Err: kind}
}

// ioFail maps an input error to a scan error.
func (s *scanner) ioFail(err error, what string) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return s.fail(ErrTruncated, "input ended inside "+what)
	case errors.Is(err, errInputLimit):
		return s.fail(ErrLimit, "reading "+what+" passes the input limit")
	case errors.Is(err, errLineLimit):
		return s.fail(ErrLimit, what+" is a line longer than the line limit")
	}
	return &Error{Offset: s.opOff, Op: s.op, Reason: "reading " + what + ": " + err.Error(), Err: err}
}

func (s *scanner) run() (*Result, error) {
	res, err := s.loop()
	out := *res
	s.release()
	return &out, err
}

func (s *scanner) loop() (*Result, error) {
	for {
		if !s.slow {
			s.fast()
		}
		s.opOff = s.in.pos
		s.op = 0
		op, err := s.in.byte1()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return &s.res, s.fail(ErrTruncated, "input ended before STOP")
			}
			return &s.res, s.ioFail(err, "opcode")
		}
		s.op = op
		s.res.Ops++
		if s.res.Ops > s.lim.MaxOps {
			return &s.res, s.fail(ErrLimit, "more opcodes than the opcode limit")
		}
		done, err := s.step(op)
		if err != nil {
			return &s.res, err
		}
		if done {
			s.res.Length = s.in.pos
			return &s.res, nil
		}
	}
}

// floor is the stack index where the innermost MARK frame starts.
func (s *scanner) floor() int {
	if n := len(s.marks); n > 0 {
		return s.marks[n-1]
	}
	return 0
}

// frame is the number of values above the innermost MARK.
func (s *scanner) frame() int {
	return len(s.stack) - s.floor()
}

func (s *scanner) push(v value) error {
	if len(s.stack)+len(s.marks) >= s.lim.MaxStack {
		return s.fail(ErrLimit, "stack deeper than the stack limit")
	}
	s.stack = append(grow(s.stack, 1), v)
	return nil
}

// need checks that the innermost frame holds n values, as CPython's pops require.
func (s *scanner) need(n int) error {
	if s.frame() < n {
		return s.fail(ErrMalformed, "stack underflow")
	}
	return nil
}

func (s *scanner) pop() value {
	v := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	return v
}

// popMark removes the innermost MARK and returns the values above it (valid until the next push).
func (s *scanner) popMark() ([]value, error) {
	n := len(s.marks)
	if n == 0 {
		return nil, s.fail(ErrMalformed, "no MARK on the stack")
	}
	at := s.marks[n-1]
	s.marks = s.marks[:n-1]
	items := s.stack[at:]
	s.stack = s.stack[:at]
	return items, nil
}

// replace pops n values and pushes v (n >= 1, so no limit check is needed).
func (s *scanner) replace(n int, v value) error {
	if err := s.need(n); err != nil {
		return err
	}
	s.stack = s.stack[:len(s.stack)-n]
	s.stack = append(s.stack, v)
	return nil
}

var other = value{kind: kOther}

// str retains b as a string value when it fits the name and arena limits.
func (s *scanner) str(b []byte) value {
	if len(b) > s.lim.MaxName || s.retained+len(b) > maxArena {
		return value{kind: kString, n: -1}
	}
	s.retained += len(b)
	off := len(s.arena)
	s.arena = append(grow(s.arena, len(b)), b...)
	return value{kind: kString, off: int32(off), n: int32(len(b))}
}

// bytesOf returns a retained string value's bytes (valid until the arena or window changes).
func (s *scanner) bytesOf(v value) ([]byte, bool) {
	switch {
	case v.n < 0:
		return nil, false
	case v.kind == kString:
		return s.arena[v.off : v.off+v.n], true
	case v.kind == kInput:
		return s.in.buf[v.off : v.off+v.n], true
	}
	return nil, false
}

// lenArg reads an n-byte little-endian length (n = 1, 4 or 8), refusing negative 4-byte lengths
// where CPython reads them signed.
func (s *scanner) lenArg(n int, signed bool) (int64, error) {
	b, err := s.in.take(n)
	if err != nil {
		return 0, s.ioFail(err, "length")
	}
	switch n {
	case 1:
		return int64(b[0]), nil
	case 2:
		return int64(binary.LittleEndian.Uint16(b)), nil
	case 4:
		if signed {
			v := int64(int32(binary.LittleEndian.Uint32(b)))
			if v < 0 {
				return 0, s.fail(ErrMalformed, "negative length")
			}
			return v, nil
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	}
	u := binary.LittleEndian.Uint64(b)
	if u > math.MaxInt64 {
		return 0, s.fail(ErrMalformed, "length beyond 2^63")
	}
	return int64(u), nil
}

// payload consumes an n-byte argument; it returns the bytes when n is small enough to retain
// as a name (nil otherwise, with the bytes skipped).
func (s *scanner) payload(n int64, what string) ([]byte, bool, error) {
	if n <= int64(s.lim.MaxName) {
		b, err := s.in.take(int(n))
		if err != nil {
			return nil, false, s.ioFail(err, what)
		}
		return b, true, nil
	}
	if s.in.pos+n > s.lim.MaxInput {
		return nil, false, s.fail(ErrLimit, what+" passes the input limit")
	}
	if err := s.in.skip(n); err != nil {
		return nil, false, s.ioFail(err, what)
	}
	return nil, false, nil
}

// strPayload pushes an n-byte string or bytes argument.
func (s *scanner) strPayload(n int64, what string, utf bool) error {
	b, kept, err := s.payload(n, what)
	if err != nil {
		return err
	}
	if !kept {
		return s.push(value{kind: kString, n: -1})
	}
	if utf && !validUTF8Surrogates(b) {
		return s.fail(ErrMalformed, what+" is not UTF-8")
	}
	return s.push(s.str(b))
}

// validUTF8Surrogates is utf8.Valid extended with encoded surrogates (ED A0..BF xx), which
// CPython's "surrogatepass" decoding of BINUNICODE accepts.
func validUTF8Surrogates(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		if len(b) >= 3 && b[0] == 0xED && b[1]&0xE0 == 0xA0 && b[2]&0xC0 == 0x80 {
			b = b[3:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		b = b[n:]
	}
	return true
}

func (s *scanner) line(what string) ([]byte, error) {
	l, err := s.in.line(s.lim.MaxLine)
	if err != nil {
		return nil, s.ioFail(err, what)
	}
	return l, nil
}

// step executes one opcode symbolically; done is true after STOP.
func (s *scanner) step(op byte) (done bool, err error) {
	switch op {
	case opMARK:
		if len(s.stack)+len(s.marks) >= s.lim.MaxStack {
			return false, s.fail(ErrLimit, "stack deeper than the stack limit")
		}
		s.marks = append(grow(s.marks, 1), len(s.stack))
		return false, nil
	case opSTOP:
		if err := s.need(1); err != nil {
			return false, err
		}
		return true, nil
	case opPOP:
		// CPython pops the innermost MARK when the frame above it is empty.
		if s.frame() > 0 {
			s.pop()
			return false, nil
		}
		_, err := s.popMark()
		return false, err
	case opPOPMARK:
		_, err := s.popMark()
		return false, err
	case opDUP:
		if err := s.need(1); err != nil {
			return false, err
		}
		return false, s.push(s.stack[len(s.stack)-1])

	case opINT, opLONG:
		l, err := s.line("integer")
		if err != nil {
			return false, err
		}
		if !intLiteral(l, op == opLONG) {
			return false, s.fail(ErrMalformed, "invalid integer literal")
		}
		return false, s.push(other)
	case opFLOAT:
		l, err := s.line("float")
		if err != nil {
			return false, err
		}
		if !floatLiteral(l) {
			return false, s.fail(ErrMalformed, "invalid float literal")
		}
		return false, s.push(other)
	case opBININT:
		return false, s.fixed(4)
	case opBININT1:
		return false, s.fixed(1)
	case opBININT2:
		return false, s.fixed(2)
	case opBINFLOAT:
		return false, s.fixed(8)
	case opNONE, opNEWTRUE, opNEWFALSE, opEMPTYDICT, opEMPTYLIST, opEMPTYTUPLE, opEMPTYSET:
		return false, s.push(other)
	case opLONG1, opLONG4:
		size := 1
		if op == opLONG4 {
			size = 4
		}
		n, err := s.lenArg(size, op == opLONG4)
		if err != nil {
			return false, err
		}
		if _, _, err := s.payload(n, "long"); err != nil {
			return false, err
		}
		return false, s.push(other)

	case opSTRING:
		l, err := s.line("string")
		if err != nil {
			return false, err
		}
		v, ok := unquote(l)
		if !ok {
			return false, s.fail(ErrMalformed, "STRING argument is not a quoted string")
		}
		return false, s.push(s.str(v))
	case opUNICODE:
		l, err := s.line("unicode string")
		if err != nil {
			return false, err
		}
		return false, s.push(s.str(rawUnicodeEscape(l)))
	case opBINSTRING, opBINUNICODE, opBINBYTES:
		n, err := s.lenArg(4, op == opBINSTRING)
		if err != nil {
			return false, err
		}
		return false, s.strPayload(n, opName(op), op == opBINUNICODE)
	case opSHORTBINSTRING, opSHORTBINBYTES, opSHORTBINUNICODE:
		n, err := s.lenArg(1, false)
		if err != nil {
			return false, err
		}
		return false, s.strPayload(n, opName(op), op == opSHORTBINUNICODE)
	case opBINUNICODE8, opBINBYTES8, opBYTEARRAY8:
		n, err := s.lenArg(8, false)
		if err != nil {
			return false, err
		}
		return false, s.strPayload(n, opName(op), op == opBINUNICODE8)
	case opNEXTBUFFER:
		return false, s.push(other)
	case opREADONLYBUFFER:
		return false, s.need(1)

	case opAPPEND:
		if err := s.need(2); err != nil {
			return false, err
		}
		s.pop()
		return false, nil
	case opAPPENDS, opSETITEMS, opADDITEMS:
		items, err := s.popMark()
		if err != nil {
			return false, err
		}
		if op == opSETITEMS && len(items)%2 != 0 {
			return false, s.fail(ErrMalformed, "odd number of items for SETITEMS")
		}
		return false, s.need(1)
	case opSETITEM:
		if err := s.need(3); err != nil {
			return false, err
		}
		s.stack = s.stack[:len(s.stack)-2]
		return false, nil
	case opBUILD:
		if err := s.need(2); err != nil {
			return false, err
		}
		s.pop()
		return false, nil
	case opLIST, opTUPLE, opFROZENSET:
		if _, err := s.popMark(); err != nil {
			return false, err
		}
		return false, s.push(other)
	case opDICT:
		items, err := s.popMark()
		if err != nil {
			return false, err
		}
		if len(items)%2 != 0 {
			return false, s.fail(ErrMalformed, "odd number of items for DICT")
		}
		return false, s.push(other)
	case opTUPLE1:
		return false, s.replace(1, other)
	case opTUPLE2:
		return false, s.replace(2, other)
	case opTUPLE3:
		return false, s.replace(3, other)

	case opGET, opBINGET, opLONGBINGET:
		i, err := s.memoIndex(op)
		if err != nil {
			return false, err
		}
		return false, s.get(i)
	case opPUT, opBINPUT, opLONGBINPUT:
		i, err := s.memoIndex(op)
		if err != nil {
			return false, err
		}
		return false, s.put(i)
	case opMEMOIZE:
		return false, s.put(uint64(s.memoN))

	case opGLOBAL, opINST:
		m, err := s.line("module name")
		if err != nil {
			return false, err
		}
		// The module is kept in s.names: the next line may refill the window under m.
		s.names = s.appendName(s.names[:0], m)
		split := len(s.names)
		n, err := s.line("global name")
		if err != nil {
			return false, err
		}
		s.names = s.appendName(s.names, n)
		g := s.globalBytes(s.names[:split], s.names[split:], false)
		if op == opGLOBAL {
			return false, s.push(g)
		}
		if _, err := s.popMark(); err != nil {
			return false, err
		}
		s.called(g)
		return false, s.push(other)
	case opSTACKGLOBAL:
		if err := s.need(2); err != nil {
			return false, err
		}
		nv, mv := s.pop(), s.pop()
		module, ok1 := s.bytesOf(mv)
		name, ok2 := s.bytesOf(nv)
		if !ok1 || !ok2 {
			return false, s.push(s.dynamic())
		}
		return false, s.push(s.globalBytes(module, name, false))
	case opEXT1, opEXT2, opEXT4:
		n := 1
		switch op {
		case opEXT2:
			n = 2
		case opEXT4:
			n = 4
		}
		code, err := s.lenArg(n, op == opEXT4)
		if err != nil {
			return false, err
		}
		if code <= 0 {
			return false, s.fail(ErrMalformed, "extension code not positive")
		}
		// The copyreg extension registry maps codes to globals the process registered; the
		// stream alone cannot say which, so it is graded as an unknown import.
		return false, s.push(s.global("copyreg._extension_registry", "code "+itoa(code), false))

	case opREDUCE, opNEWOBJ:
		if err := s.need(2); err != nil {
			return false, err
		}
		s.called(s.stack[len(s.stack)-2])
		return false, s.replace(2, other)
	case opNEWOBJEX:
		if err := s.need(3); err != nil {
			return false, err
		}
		s.called(s.stack[len(s.stack)-3])
		return false, s.replace(3, other)
	case opOBJ:
		items, err := s.popMark()
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			return false, s.fail(ErrMalformed, "OBJ without a class")
		}
		s.called(items[0])
		return false, s.push(other)

	case opPERSID:
		if _, err := s.line("persistent id"); err != nil {
			return false, err
		}
		return false, s.push(other)
	case opBINPERSID:
		return false, s.replace(1, other)

	case opPROTO:
		p, err := s.lenArg(1, false)
		if err != nil {
			return false, err
		}
		if p > highestProtocol {
			return false, s.fail(ErrMalformed, "unsupported protocol "+itoa(p))
		}
		s.res.Protocol = max(s.res.Protocol, int(p))
		return false, nil
	case opFRAME:
		n, err := s.lenArg(8, false)
		if err != nil {
			return false, err
		}
		// A frame announces how many bytes follow; CPython reads them in one go, so a frame
		// longer than the input is a truncation found here rather than later.
		if s.in.pos+n > s.lim.MaxInput {
			return false, s.fail(ErrLimit, "FRAME passes the input limit")
		}
		return false, nil
	}
	return false, s.fail(ErrMalformed, "invalid opcode")
}

func (s *scanner) fixed(n int) error {
	if _, err := s.in.take(n); err != nil {
		return s.ioFail(err, "argument")
	}
	return s.push(other)
}

// memoIndex reads the memo index argument of a GET or PUT opcode: a decimal line (protocol 0),
// one byte (BIN) or four little-endian bytes (LONG_BIN).
func (s *scanner) memoIndex(op byte) (uint64, error) {
	switch op {
	case opBINGET, opBINPUT:
		i, err := s.lenArg(1, false)
		return uint64(i), err
	case opLONGBINGET, opLONGBINPUT:
		i, err := s.lenArg(4, false)
		return uint64(i), err
	}
	l, err := s.line("memo index")
	if err != nil {
		return 0, err
	}
	i, ok := decimal(l)
	if !ok {
		return 0, s.fail(ErrMalformed, "invalid memo index")
	}
	return i, nil
}

func (s *scanner) get(i uint64) error {
	v, ok := s.memoGet(i)
	if !ok {
		return s.fail(ErrMalformed, "memo index "+itoa(int64(min(i, math.MaxInt64)))+" not set")
	}
	return s.push(v)
}

func (s *scanner) memoGet(i uint64) (value, bool) {
	if i < uint64(len(s.memo)) {
		return s.memo[i], s.memo[i].kind != kUnset
	}
	v, ok := s.memoX[i]
	return v, ok
}

func (s *scanner) put(i uint64) error {
	if err := s.need(1); err != nil {
		return err
	}
	v := s.stack[len(s.stack)-1]
	if _, ok := s.memoGet(i); !ok {
		if s.memoN >= s.lim.MaxMemo {
			return s.fail(ErrLimit, "more memo entries than the memo limit")
		}
		s.memoN++
	}
	switch {
	case i < uint64(len(s.memo)):
		s.memo[i] = v
	case i < uint64(len(s.memo))+1024:
		// Dense indices (the usual 0, 1, 2, ...) go into a slice; a far index cannot make it
		// grow by more than a small step.
		// A far index set earlier moves from the sparse map into the slice as the slice
		// reaches it, so each index has one home and memoGet finds it there.
		s.memo = grow(s.memo, int(i)+1-len(s.memo))
		for uint64(len(s.memo)) < i {
			s.memo = append(s.memo, s.takeSparse(uint64(len(s.memo))))
		}
		s.takeSparse(i)
		s.memo = append(s.memo, v)
	default:
		if s.memoX == nil {
			s.memoX = make(map[uint64]value)
		}
		s.memoX[i] = v
	}
	return nil
}

// takeSparse removes index i from the sparse memo and returns what it held (an unset value when
// nothing).
func (s *scanner) takeSparse(i uint64) value {
	if s.memoX == nil {
		return value{}
	}
	v, ok := s.memoX[i]
	if ok {
		delete(s.memoX, i)
	}
	return v
}

// appendName appends a GLOBAL/INST line to dst, cut to the name limit (and marked as cut).
func (s *scanner) appendName(dst, l []byte) []byte {
	if len(l) > s.lim.MaxName {
		return append(append(dst, l[:s.lim.MaxName]...), "…"...)
	}
	return append(dst, l...)
}

// global records an import and returns its stack value.
func (s *scanner) global(module, name string, dynamic bool) value {
	return s.globalBytes([]byte(module), []byte(name), dynamic)
}

// globalBytes is global for byte views (of the window, the arena or s.names): a global seen
// before is found without building its strings. The key is the module's length, the module,
// the name and the dynamic flag, so no two globals share one whatever bytes they hold.
func (s *scanner) globalBytes(mb, nb []byte, dynamic bool) value {
	k := binary.AppendUvarint(s.key[:0], uint64(len(mb)))
	k = append(append(k, mb...), nb...)
	if dynamic {
		k = append(k, 1)
	}
	s.key = k
	idx, ok := s.seen[string(k)] // a map index by string(bytes) does not allocate
	if !ok {
		module, name := string(mb), string(nb)
		sev := Grade(module, name)
		if dynamic {
			sev = SeverityCritical
		}
		s.res.Severity = max(s.res.Severity, sev)
		if len(s.res.Globals) < s.lim.MaxGlobals {
			idx = len(s.res.Globals)
			s.res.Globals = append(s.res.Globals, Global{Module: module, Name: name, Severity: sev, Dynamic: dynamic})
		} else {
			idx = -1
			s.res.GlobalsDropped++
		}
		if s.seen == nil {
			s.seen = make(map[string]int)
		}
		if len(s.seen) < 4*s.lim.MaxGlobals {
			s.seen[string(k)] = idx
		}
	}
	return value{kind: kGlobal, n: int32(idx)}
}

// dynamic records a STACK_GLOBAL whose operands are not known strings.
func (s *scanner) dynamic() value {
	return s.global("?", "?", true)
}

func (s *scanner) called(v value) {
	if v.kind == kGlobal && v.n >= 0 {
		s.res.Globals[v.n].Called = true
	}
}

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
