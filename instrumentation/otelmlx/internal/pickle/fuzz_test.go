package pickle

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"testing/iotest"
)

// FuzzScan checks that the three entry points agree on every input, that nothing panics or
// escapes the limits, and that an accepted stream is accepted again on its own, with the same
// end and imports.
func FuzzScan(f *testing.F) {
	for _, c := range cases {
		f.Add(c.data)
	}
	f.Add(p("cos\nsystem\n(S'id'\ntR"))
	f.Add(p(opPROTO, 4, opFRAME, u64(1<<62), opSTOP))
	lim := Limits{MaxOps: 1 << 16, MaxStack: 1 << 10, MaxMemo: 1 << 10, MaxLine: 1 << 12, MaxGlobals: 16, MaxName: 64, MaxInput: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, eb := ScanBytes(data, lim)
		ra, ea := ScanAt(bytes.NewReader(data), int64(len(data)), lim)
		rr, er := Scan(iotest.HalfReader(bytes.NewReader(data)), lim)
		for _, e := range []error{eb, ea, er} {
			if e != nil && !errors.Is(e, ErrTruncated) && !errors.Is(e, ErrMalformed) && !errors.Is(e, ErrLimit) {
				t.Fatalf("error of no known kind: %v", e)
			}
		}
		if (eb == nil) != (ea == nil) || (eb == nil) != (er == nil) {
			t.Fatalf("entry points disagree: bytes %v, readerAt %v, reader %v", eb, ea, er)
		}
		if eb != nil && (eb.Error() != ea.Error() || eb.Error() != er.Error()) {
			t.Fatalf("entry points disagree: bytes %v, readerAt %v, reader %v", eb, ea, er)
		}
		// The fast path (fast.go) must be invisible: the same result and the same error, at the
		// same offset, as step alone.
		rs, es := scanBytesSlow(data, lim)
		if (eb == nil) != (es == nil) || eb != nil && eb.Error() != es.Error() {
			t.Fatalf("fast and slow paths disagree: %v vs %v", eb, es)
		}
		if rs.Length != rb.Length || rs.Ops != rb.Ops || rs.Protocol != rb.Protocol || rs.Severity != rb.Severity ||
			rs.GlobalsDropped != rb.GlobalsDropped || !slices.Equal(rs.Globals, rb.Globals) {
			t.Fatalf("fast and slow results differ: %+v vs %+v", rb, rs)
		}
		for _, r := range []*Result{ra, rr} {
			if r.Length != rb.Length || r.Severity != rb.Severity || !slices.Equal(r.Globals, rb.Globals) {
				t.Fatalf("results differ: %+v vs %+v", r, rb)
			}
		}
		if rb.Length > int64(len(data)) || len(rb.Globals) > lim.MaxGlobals {
			t.Fatalf("result beyond bounds: %+v", rb)
		}
		worst := SeverityNone
		for _, g := range rb.Globals {
			worst = max(worst, g.Severity)
		}
		if worst > rb.Severity || (rb.GlobalsDropped == 0 && worst != rb.Severity) {
			t.Fatalf("severity %v, globals' worst %v", rb.Severity, worst)
		}
		if eb != nil {
			if rb.Length != 0 {
				t.Fatalf("Length %d set on error %v", rb.Length, eb)
			}
			return
		}
		again, err := ScanBytes(data[:rb.Length], lim)
		if err != nil || again.Length != rb.Length || !slices.Equal(again.Globals, rb.Globals) {
			t.Fatalf("the accepted stream alone: %v, %+v", err, again)
		}
		if _, err := ScanBytes(data[:rb.Length-1], lim); !errors.Is(err, ErrTruncated) {
			t.Fatalf("accepted stream minus STOP: %v, want truncated", err)
		}
	})
}

// scanBytesSlow is ScanBytes with every opcode run by step.
func scanBytesSlow(b []byte, lim Limits) (*Result, error) {
	s := newScanner(lim)
	s.slow = true
	s.in.initBytes(b, s.lim.MaxInput)
	return s.run()
}
