// Package pickle reads Python pickle streams (protocols 0 to 5) statically: it walks the opcodes
// up to STOP, checks each one's arguments and stack effect as CPython's unpickler would, and lists
// the globals the stream would import and call. Nothing is ever executed or constructed.
//
// Two questions are answered from one pass:
//
//   - Is this byte stream a complete, well-formed pickle, and where does it end? Scan returns
//     Result.Length (the offset just past STOP) or an error: ErrTruncated when the input ended
//     before STOP (a prefix that is consistent with a pickle so far), ErrMalformed when an opcode
//     is invalid or its arguments or stack effect are, ErrLimit when a bound was reached.
//   - What would loading it import? Result.Globals lists each distinct (module, name) from GLOBAL,
//     STACK_GLOBAL (strings resolved through the stack and the memo), INST and the EXT opcodes,
//     graded as ModelScan grades them (see Grade), and Result.Severity is the worst grade.
//
// The result is filled in as far as the scan got even when an error is returned: an unpickler
// would already have imported and called what came before the fault, so the globals seen up to
// it still count.
//
// Memory is bounded whatever the input: opcodes, stack depth, memo entries, retained string bytes
// and listed globals are capped (Limits), and the payloads of bytes and string opcodes, however
// large, are skipped without being held.
package pickle

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors wrapped by every *Error Scan returns; test with errors.Is.
var (
	// ErrTruncated: the input ended before STOP. Every opcode read so far was valid.
	ErrTruncated = errors.New("pickle stream truncated before STOP")
	// ErrMalformed: an unknown opcode, an invalid argument, or a stack or memo fault that makes
	// CPython's unpickler fail.
	ErrMalformed = errors.New("malformed pickle stream")
	// ErrLimit: one of the Limits was reached before STOP.
	ErrLimit = errors.New("pickle stream exceeds a scan limit")
)

// Error locates a scan failure in the stream.
type Error struct {
	Offset int64  // byte offset of the opcode at fault
	Op     byte   // the opcode at fault (0 when the input ended before an opcode)
	Reason string // what is wrong, for people
	Err    error  // ErrTruncated, ErrMalformed or ErrLimit, or the reader's error
}

func (e *Error) Error() string {
	kind := "malformed"
	switch {
	case errors.Is(e.Err, ErrTruncated):
		kind = "truncated"
	case errors.Is(e.Err, ErrLimit):
		kind = "limit"
	case !errors.Is(e.Err, ErrMalformed):
		kind = "read error"
	}
	return fmt.Sprintf("pickle %s at offset %d (opcode %s): %s", kind, e.Offset, opName(e.Op), e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// Limits bound the work and memory of one scan. A zero field takes its default.
type Limits struct {
	// MaxInput is the most bytes read, payloads included (default 64 GiB).
	MaxInput int64
	// MaxOps is the most opcodes executed symbolically (default 1<<26).
	MaxOps int64
	// MaxStack is the deepest the stack (all mark frames together) may grow (default 1<<20).
	MaxStack int
	// MaxMemo is the most memo entries (default 1<<20).
	MaxMemo int
	// MaxLine is the longest text line of the protocol 0 opcodes (default 1 MiB).
	MaxLine int
	// MaxGlobals is the most distinct globals listed; more are counted in Result.GlobalsDropped
	// and still graded into Result.Severity (default 256).
	MaxGlobals int
	// MaxName is the longest module or name retained; a longer one is cut and graded as an
	// unknown global at least (default 256).
	MaxName int
}

// DefaultLimits are the bounds applied to a zero Limits field.
var DefaultLimits = Limits{
	MaxInput:   64 << 30,
	MaxOps:     1 << 26,
	MaxStack:   1 << 20,
	MaxMemo:    1 << 20,
	MaxLine:    1 << 20,
	MaxGlobals: 256,
	MaxName:    256,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxInput > 0 {
		d.MaxInput = l.MaxInput
	}
	if l.MaxOps > 0 {
		d.MaxOps = l.MaxOps
	}
	if l.MaxStack > 0 {
		d.MaxStack = l.MaxStack
	}
	if l.MaxMemo > 0 {
		d.MaxMemo = l.MaxMemo
	}
	if l.MaxLine > 0 {
		d.MaxLine = l.MaxLine
	}
	if l.MaxGlobals > 0 {
		d.MaxGlobals = l.MaxGlobals
	}
	if l.MaxName > 0 {
		d.MaxName = l.MaxName
	}
	return d
}

// Global is one (module, name) pair a stream imports.
type Global struct {
	Module, Name string
	Severity     Severity
	// Called is true when the stream calls it (REDUCE, OBJ, INST, NEWOBJ, NEWOBJ_EX) rather than
	// only importing it.
	Called bool
	// Dynamic is true for a STACK_GLOBAL whose module or name is not a string literal the scanner
	// could follow (computed at load time): anything can be imported that way, so it is CRITICAL.
	Dynamic bool
}

// String is "module.name" as Python writes a qualified name.
func (g Global) String() string { return g.Module + "." + g.Name }

// Result is what one scan found.
type Result struct {
	// Length is the offset just past STOP; 0 when no STOP was reached.
	Length int64
	// Protocol is the highest PROTO argument seen (0 when none: protocols 0 and 1 have no PROTO).
	Protocol int
	// Ops is the number of opcodes read.
	Ops int64
	// Globals lists the distinct globals in the order first seen, at most Limits.MaxGlobals.
	Globals []Global
	// GlobalsDropped counts distinct globals beyond MaxGlobals (graded into Severity).
	GlobalsDropped int
	// Severity is the worst grade of all globals; SeverityNone when the stream imports nothing.
	Severity Severity
}

// Scan reads one pickle stream from r up to its STOP opcode; it reads nothing past STOP.
func Scan(r io.Reader, lim Limits) (*Result, error) {
	s := newScanner(lim)
	s.in.initReader(r, s.lim.MaxInput)
	return s.run()
}

// ScanAt reads one pickle stream from the first size bytes of r. Payloads of bytes and string
// opcodes are skipped without being read.
func ScanAt(r io.ReaderAt, size int64, lim Limits) (*Result, error) {
	s := newScanner(lim)
	s.in.initReaderAt(r, size, s.lim.MaxInput)
	s.presize(size, true)
	return s.run()
}

// ScanBytes reads one pickle stream from the start of b; bytes after STOP are ignored.
// errors.Is(err, ErrTruncated) on a prefix means it is consistent with a pickle so far.
func ScanBytes(b []byte, lim Limits) (*Result, error) {
	s := newScanner(lim)
	s.in.initBytes(b, s.lim.MaxInput)
	s.presize(int64(len(b)), false)
	return s.run()
}

func opName(op byte) string {
	if n := opNames[op]; n != "" {
		return n
	}
	return "0x" + strconv.FormatUint(uint64(op), 16)
}
