package pickle

import (
	"encoding/binary"
	"math"
)

// fast runs the opcodes that make up nearly all of a real pickle (short ASCII strings, small
// ints and floats, tuples, memo GET and PUT, MARK, REDUCE and the container opcodes) straight
// from the read window: no call, interface or error value per opcode. It takes an opcode only
// when its arguments are already buffered, it cannot fail, and it needs no memory grown; at the
// first one that could fail, or that it leaves to step (text lines, payloads longer than a
// retained name, non-ASCII strings, imports, STOP, a stack, memo, marks or arena at capacity),
// it returns without consuming it, and step runs that opcode as it always has. Errors, their
// offsets and every limit are therefore step's own; FuzzScan compares the two paths on every
// input.
func (s *scanner) fast() {
	// The loop keeps as few values live as it can (the window, the read offset, the stack and
	// its top, the frame floor, the opcode count) and makes no call: with more values, or a
	// call on any path, the compiler spills them to memory on every opcode, which cost more
	// than the opcodes themselves. The stack, memo, marks and string arena are used in place
	// up to their capacity (step's appends grow them); the memo, the marks and the limits are
	// read through s, since only a few opcodes touch them.
	in := &s.in
	buf := in.buf[:in.w]
	r := in.r
	ops := s.res.Ops
	// Every opcode consumes at least one byte, so a window cut to the opcodes still allowed
	// keeps the count within the limit without a test per opcode; step enforces the limit
	// exactly when fast stops short of it.
	if left := s.lim.MaxOps - ops; left < int64(len(buf)-r) {
		buf = buf[:r+int(max(left, 0))]
	}
	stk := s.stack[:cap(s.stack)]
	sp := len(s.stack)
	top := s.fastTop(len(stk)) // a push needs sp < top
	floor := s.floor()         // stack index where the innermost MARK frame starts

loop:
	for r < len(buf) {
		switch op := buf[r]; op {
		case opNONE, opNEWTRUE, opNEWFALSE, opEMPTYDICT, opEMPTYLIST, opEMPTYTUPLE, opEMPTYSET, opNEXTBUFFER:
			if sp >= top {
				break loop
			}
			stk[sp] = other
			sp++
			r++

		case opBININT1:
			if r+2 > len(buf) || sp >= top {
				break loop
			}
			stk[sp] = other
			sp++
			r += 2

		case opBININT2, opBININT, opBINFLOAT:
			n := 1 + fixedArg[op]
			if r+n > len(buf) || sp >= top {
				break loop
			}
			stk[sp] = other
			sp++
			r += n

		case opLONG1:
			if r+2 > len(buf) {
				break loop
			}
			n := 2 + int(buf[r+1])
			if n-2 > s.lim.MaxName || r+n > len(buf) || sp >= top {
				break loop
			}
			stk[sp] = other
			sp++
			r += n

		case opSHORTBINUNICODE, opSHORTBINBYTES, opSHORTBINSTRING, opBINUNICODE, opBINBYTES, opBINSTRING:
			if sp >= top {
				break loop
			}
			h, n := 2, 0
			if op == opSHORTBINUNICODE || op == opSHORTBINBYTES || op == opSHORTBINSTRING {
				if r+2 > len(buf) {
					break loop
				}
				n = int(buf[r+1])
			} else {
				if r+5 > len(buf) {
					break loop
				}
				u := binary.LittleEndian.Uint32(buf[r+1:])
				if op == opBINSTRING && int32(u) < 0 || uint64(u) > uint64(s.lim.MaxName) {
					break loop // int(u) below stays small, whatever the size of int
				}
				h, n = 5, int(u)
			}
			if n > s.lim.MaxName || r+h+n > len(buf) {
				break loop
			}
			if (op == opSHORTBINUNICODE || op == opBINUNICODE) && !ascii(buf, r+h, r+h+n) {
				break loop
			}
			// str, in line and without a call, and for ScanBytes referring to the input in
			// place rather than copying it: anything str would do differently (a string past
			// the arena bound, an arena to grow) is left to step.
			if s.retained+n > maxArena {
				break loop
			}
			if in.rd == nil && in.ra == nil {
				// ScanBytes: the string refers to the input.
				if r+h > math.MaxInt32-n {
					break loop
				}
				stk[sp] = value{kind: kInput, off: int32(r + h), n: int32(n)}
			} else {
				// Copied into the arena a word at a time (memmove is a call), which needs a
				// word of room past the string in the window and in the arena.
				off, win := len(s.arena), in.buf
				if n+8 > cap(s.arena)-off || r+h+n+8 > len(win) || off > math.MaxInt32-n {
					break loop
				}
				dst, src := s.arena[off:off+n+8], win[r+h:r+h+n+8]
				for i := 0; i < n; i += 8 {
					binary.LittleEndian.PutUint64(dst[i:i+8], binary.LittleEndian.Uint64(src[i:i+8]))
				}
				s.arena = s.arena[:off+n]
				stk[sp] = value{kind: kString, off: int32(off), n: int32(n)}
			}
			s.retained += n
			sp++
			r += h + n

		case opBINGET, opLONGBINGET:
			h, i := 2, 0
			if op == opBINGET {
				if r+2 > len(buf) {
					break loop
				}
				i = int(buf[r+1])
			} else {
				if r+5 > len(buf) {
					break loop
				}
				h, i = 5, int(binary.LittleEndian.Uint32(buf[r+1:]))
			}
			memo := s.memo
			if uint(i) >= uint(len(memo)) || memo[i].kind == kUnset || sp >= top {
				break loop
			}
			stk[sp] = memo[i]
			sp++
			r += h

		case opBINPUT, opLONGBINPUT, opMEMOIZE:
			h, i := 1, s.memoN
			switch op {
			case opBINPUT:
				if r+2 > len(buf) {
					break loop
				}
				h, i = 2, int(buf[r+1])
			case opLONGBINPUT:
				if r+5 > len(buf) {
					break loop
				}
				h, i = 5, int(binary.LittleEndian.Uint32(buf[r+1:]))
			}
			if sp <= floor {
				break loop
			}
			v := stk[sp-1]
			switch {
			case uint(i) < uint(len(s.memo)): // unsigned: a 4-byte index is negative as a 32-bit int
				if s.memo[i].kind == kUnset {
					if s.memoN >= s.lim.MaxMemo {
						break loop
					}
					s.memoN++
				}
				s.memo[i] = v
			case i == len(s.memo) && i < cap(s.memo) && s.memoX == nil && s.memoN < s.lim.MaxMemo:
				// Far indices live in memoX: step reads and writes those. The memo grows in
				// place up to its capacity (step's append grows that).
				s.memoN++
				s.memo = s.memo[:i+1]
				s.memo[i] = v
			default:
				break loop
			}
			r += h

		case opMARK:
			if sp >= top {
				break loop
			}
			m := len(s.marks)
			if m == cap(s.marks) {
				break loop // step's append grows the marks
			}
			s.marks = s.marks[:m+1]
			s.marks[m] = sp
			floor = sp
			top = s.fastTop(len(stk))
			r++

		case opTUPLE, opLIST, opFROZENSET, opDICT, opOBJ, opAPPENDS, opSETITEMS, opADDITEMS, opPOPMARK:
			// The opcodes that pop the innermost MARK frame.
			marks := s.marks
			if len(marks) == 0 {
				break loop
			}
			items := sp - floor
			below := 0 // the frame under the one popped
			if len(marks) > 1 {
				below = marks[len(marks)-2]
			}
			switch op {
			case opDICT, opSETITEMS:
				if items%2 != 0 {
					break loop
				}
			case opOBJ:
				if items == 0 {
					break loop
				}
			}
			adds := op == opAPPENDS || op == opSETITEMS || op == opADDITEMS
			if adds && floor-below < 1 {
				break loop // nothing to add the items to
			}
			pushes := !adds && op != opPOPMARK
			if pushes && floor >= len(stk) {
				break loop // the MARK was set by step at the stack's capacity
			}
			if op == opOBJ {
				s.called(stk[floor])
			}
			sp = floor
			s.marks = s.marks[:len(marks)-1] // s.marks, not marks: only the length is stored
			floor = below
			top = s.fastTop(len(stk))
			if pushes {
				// The stack is one MARK and zero or more items shorter: this push fits the limit.
				stk[sp] = other
				sp++
			}
			r++

		case opTUPLE1, opTUPLE2, opTUPLE3:
			n := int(op-opTUPLE1) + 1
			if sp-floor < n {
				break loop
			}
			sp -= n - 1
			stk[sp-1] = other
			r++

		case opREDUCE, opNEWOBJ, opNEWOBJEX:
			n := 2
			if op == opNEWOBJEX {
				n = 3
			}
			if sp-floor < n {
				break loop
			}
			s.called(stk[sp-n])
			sp -= n - 1
			stk[sp-1] = other
			r++

		case opBINPERSID:
			if sp <= floor {
				break loop
			}
			stk[sp-1] = other
			r++

		case opREADONLYBUFFER:
			if sp <= floor {
				break loop
			}
			r++

		case opSETITEM, opAPPEND, opBUILD:
			n := 2 // APPEND and BUILD pop one value into the one below it
			if op == opSETITEM {
				n = 3
			}
			if sp-floor < n {
				break loop
			}
			sp -= n - 1
			r++

		case opPOP:
			if sp <= floor {
				break loop // POP of an empty frame pops the MARK: step does it
			}
			sp--
			r++

		case opDUP:
			if sp <= floor || sp >= top {
				break loop
			}
			stk[sp] = stk[sp-1]
			sp++
			r++

		case opFRAME:
			if r+9 > len(buf) {
				break loop
			}
			n := binary.LittleEndian.Uint64(buf[r+1:])
			if n > uint64(s.lim.MaxInput) || in.pos-int64(in.r)+int64(r+9)+int64(n) > s.lim.MaxInput {
				break loop
			}
			r += 9

		default:
			break loop
		}
		ops++
	}

	s.stack = stk[:sp]
	s.res.Ops = ops
	in.pos += int64(r - in.r)
	in.r = r
}

// fastTop is the stack length below which fast may push: the stack's capacity (step grows it),
// and the stack limit less the open MARKs, which count against it.
func (s *scanner) fastTop(capacity int) int {
	return min(capacity, s.lim.MaxStack-len(s.marks))
}

// fixedArg is the argument size of the fixed-width number opcodes.
var fixedArg = [256]int{opBININT1: 1, opBININT2: 2, opBININT: 4, opBINFLOAT: 8}

// ascii reports whether buf[start:end] is known to be all ASCII, as nearly every name and key in
// a model's pickle is; fast leaves any other string to step, which checks UTF-8 as CPython
// decodes it. It reads whole words only, the last one ending at end: for a string shorter than a
// word, the bytes before it (its opcode and length) are masked off, so no byte past end is read.
// A string ending in the first eight bytes of the window is not known (false): step checks it.
// It is small enough to be inlined into fast (no call per string).
func ascii(buf []byte, start, end int) bool {
	const high = 0x8080808080808080
	if end < 8 {
		return false
	}
	acc := binary.LittleEndian.Uint64(buf[end-8 : end])
	if n := end - start; n < 8 {
		return acc&(high<<(uint(8-n)*8)) == 0
	}
	for i := start; i+8 <= end; i += 8 {
		acc |= binary.LittleEndian.Uint64(buf[i : i+8])
	}
	return acc&high == 0
}
