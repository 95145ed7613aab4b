package pickle

import "encoding/binary"

// fast runs the opcodes that make up nearly all of a real pickle (short strings, small ints and
// floats, tuples, memo GET and PUT, MARK, REDUCE and the container opcodes) straight from the
// read window, with the stack, marks, memo and position held in locals: no call, interface or
// error value per opcode. It takes an opcode only when its arguments are already buffered and
// it cannot fail; at the first one that could fail, or that it leaves to step (text lines,
// payloads longer than a retained name, imports, STOP), it returns without consuming it, and
// step runs that opcode as it always has. Errors, their offsets and every limit are therefore
// step's own; FuzzScan compares the two paths on every input.
func (s *scanner) fast() {
	in := &s.in
	buf := in.buf[:in.w]
	r := in.r
	base := in.pos - int64(r)
	stack, marks, memo, memoN := s.stack, s.marks, s.memo, s.memoN
	ops, maxOps := s.res.Ops, s.lim.MaxOps
	maxStack, maxName, maxMemo, maxInput := s.lim.MaxStack, s.lim.MaxName, s.lim.MaxMemo, s.lim.MaxInput
	denseOnly := s.memoX == nil             // far memo indices live in memoX: step reads and writes those
	inPlace := in.rd == nil && in.ra == nil // ScanBytes: strings can refer to the input
	room := maxStack - len(marks)           // values the stack may still grow to (MARKs count)
	floor := 0                              // stack index where the innermost MARK frame starts
	if len(marks) > 0 {
		floor = marks[len(marks)-1]
	}

loop:
	for r < len(buf) && ops < maxOps {
		op := buf[r]
		switch op {
		case opNONE, opNEWTRUE, opNEWFALSE, opEMPTYDICT, opEMPTYLIST, opEMPTYTUPLE, opEMPTYSET, opNEXTBUFFER:
			if len(stack) >= room {
				break loop
			}
			stack = append(stack, other)
			r++

		case opBININT1, opBININT2, opBININT, opBINFLOAT:
			n := 1 + fixedArg[op]
			if r+n > len(buf) || len(stack) >= room {
				break loop
			}
			stack = append(stack, other)
			r += n

		case opLONG1:
			if r+2 > len(buf) {
				break loop
			}
			n := 2 + int(buf[r+1])
			if n-2 > maxName || r+n > len(buf) || len(stack) >= room {
				break loop
			}
			stack = append(stack, other)
			r += n

		case opSHORTBINUNICODE, opSHORTBINBYTES, opSHORTBINSTRING, opBINUNICODE, opBINBYTES, opBINSTRING:
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
				if op == opBINSTRING && int32(u) < 0 || uint64(u) > uint64(maxName) {
					break loop // int(u) below stays small, whatever the size of int
				}
				h, n = 5, int(u)
			}
			if n > maxName || r+h+n > len(buf) || len(stack) >= room {
				break loop
			}
			b := buf[r+h : r+h+n]
			if (op == opSHORTBINUNICODE || op == opBINUNICODE) && !validUTF8(b) {
				break loop
			}
			if inPlace {
				stack = append(stack, s.strAt(r+h, n))
			} else {
				stack = append(stack, s.str(b))
			}
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
			if uint(i) >= uint(len(memo)) || memo[i].kind == kUnset || len(stack) >= room {
				break loop
			}
			stack = append(stack, memo[i])
			r += h

		case opBINPUT, opLONGBINPUT, opMEMOIZE:
			h, i := 1, memoN
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
			if len(stack) <= floor {
				break loop
			}
			v := stack[len(stack)-1]
			switch {
			case uint(i) < uint(len(memo)): // unsigned: a 4-byte index is negative as a 32-bit int
				if memo[i].kind == kUnset {
					if memoN >= maxMemo {
						break loop
					}
					memoN++
				}
				memo[i] = v
			case i == len(memo) && denseOnly && memoN < maxMemo:
				memoN++
				memo = append(memo, v)
			default:
				break loop
			}
			r += h

		case opMARK:
			if len(stack) >= room {
				break loop
			}
			marks = append(marks, len(stack))
			floor = len(stack)
			room--
			r++

		case opTUPLE, opLIST, opFROZENSET, opDICT, opOBJ, opAPPENDS, opSETITEMS, opADDITEMS, opPOPMARK:
			// The opcodes that pop the innermost MARK frame.
			if len(marks) == 0 {
				break loop
			}
			items := len(stack) - floor
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
				s.called(stack[floor])
			}
			if (op == opAPPENDS || op == opSETITEMS || op == opADDITEMS) && floor-below < 1 {
				break loop // nothing to add the items to
			}
			stack = stack[:floor]
			marks = marks[:len(marks)-1]
			floor = below
			room++
			if op != opAPPENDS && op != opSETITEMS && op != opADDITEMS && op != opPOPMARK {
				// The stack is one MARK and zero or more items shorter: this push fits.
				stack = append(stack, other)
			}
			r++

		case opTUPLE1, opTUPLE2, opTUPLE3:
			n := int(op-opTUPLE1) + 1
			if len(stack)-floor < n {
				break loop
			}
			stack = append(stack[:len(stack)-n], other)
			r++

		case opREDUCE, opNEWOBJ, opNEWOBJEX:
			n := 2
			if op == opNEWOBJEX {
				n = 3
			}
			if len(stack)-floor < n {
				break loop
			}
			s.called(stack[len(stack)-n])
			stack = append(stack[:len(stack)-n], other)
			r++

		case opBINPERSID:
			if len(stack) <= floor {
				break loop
			}
			stack[len(stack)-1] = other
			r++

		case opREADONLYBUFFER:
			if len(stack) <= floor {
				break loop
			}
			r++

		case opSETITEM, opAPPEND, opBUILD:
			n := 2 // APPEND and BUILD pop one value into the one below it
			if op == opSETITEM {
				n = 3
			}
			if len(stack)-floor < n {
				break loop
			}
			stack = stack[:len(stack)-n+1]
			r++

		case opPOP:
			if len(stack) <= floor {
				break loop // POP of an empty frame pops the MARK: step does it
			}
			stack = stack[:len(stack)-1]
			r++

		case opDUP:
			if len(stack) <= floor || len(stack) >= room {
				break loop
			}
			stack = append(stack, stack[len(stack)-1])
			r++

		case opFRAME:
			if r+9 > len(buf) {
				break loop
			}
			n := binary.LittleEndian.Uint64(buf[r+1:])
			if n > uint64(maxInput) || base+int64(r+9)+int64(n) > maxInput {
				break loop
			}
			r += 9

		default:
			break loop
		}
		ops++
	}

	s.stack, s.marks, s.memo, s.memoN = stack, marks, memo, memoN
	s.res.Ops = ops
	in.r = r
	in.pos = base + int64(r)
}

// fixedArg is the argument size of the fixed-width number opcodes.
var fixedArg = [256]int{opBININT1: 1, opBININT2: 2, opBININT: 4, opBINFLOAT: 8}

// validUTF8 is validUTF8Surrogates with the all-ASCII case (nearly every name and key in a
// model's pickle) checked in line, eight bytes at a time.
func validUTF8(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return validUTF8Surrogates(b)
		}
		b = b[8:]
	}
	for i, c := range b {
		if c >= 0x80 {
			return validUTF8Surrogates(b[i:])
		}
	}
	return true
}
