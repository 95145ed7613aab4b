package pickle

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestASCII compares the word-at-a-time check with a byte loop for every length up to 24 at
// every offset of an 8-byte-aligned-or-not buffer, with a non-ASCII byte at each position inside
// the string and just outside it (before: the opcode and length bytes a short string's word
// covers; after: bytes that must not be read as the string's). A string ending in the first
// eight bytes is never known ASCII: step checks those.
func TestASCII(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for start := 0; start <= 10; start++ {
			for bad := -2; bad < n+2; bad++ {
				buf := bytes.Repeat([]byte{'a'}, start+n+2)
				if bad >= -start && start+bad < len(buf) {
					buf[start+bad] = 0x8c
				}
				end := start + n
				want := bytes.IndexFunc(buf[start:end], func(r rune) bool { return r >= 0x80 }) < 0 && end >= 8
				if got := ascii(buf[:end], start, end); got != want {
					t.Errorf("n=%d start=%d non-ASCII at %d: %v, want %v", n, start, bad, got, want)
				}
			}
		}
	}
}

// TestMemoizedNamesAcrossWindows: the module and name of a STACK_GLOBAL memoized at the start
// and fetched after several refills of the read window (the fast path copies such strings into
// the arena a word at a time, once step has grown it) still resolve, in every mode, and so does a long ASCII name and a
// non-ASCII one (left to step).
func TestMemoizedNamesAcrossWindows(t *testing.T) {
	long := "a_module_name_longer_than_one_word.and_a_dotted_part"
	b := p(opPROTO, 4)
	for i := 0; i < 200; i++ { // grow the arena first: fast copies only into room it has
		b = append(b, p(sbu(strings.Repeat("x", 60)), opPOP)...)
	}
	b = append(b, p(sbu("os"), opMEMOIZE, sbu("system"), opMEMOIZE)...)
	b = append(b, p(sbu(long), opMEMOIZE, sbu("Clé"), opMEMOIZE, opEMPTYLIST)...)
	for i := 0; i < 3*bufSize/8; i++ { // ~3 windows of MARK BININT1 ... APPENDS
		b = append(b, p(opMARK, opBININT1, 1, opBININT1, 2, opBININT1, 3, opAPPENDS)...)
	}
	b = append(b, p(opBINGET, 0, opBINGET, 1, opSTACKGLOBAL, opPOP, opBINGET, 2, opBINGET, 3, opSTACKGLOBAL, opAPPEND, opSTOP)...)
	for mode, scan := range scanModes(b) {
		r, err := scan(Limits{})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got, want := describe(r), []string{"os.system", long + ".Clé"}; !slices.Equal(got, want) || r.Severity != SeverityCritical {
			t.Errorf("%s: globals %q severity %v, want %q critical", mode, got, r.Severity, want)
		}
	}
}
