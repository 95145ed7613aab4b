package pickle

import (
	"fmt"
	"testing"
)

// BenchmarkScanHostile reports MB/s on streams shaped to defeat the fast path, the worst cases
// a hostile file can choose (each about 1-3 MB):
//
//   - globals: 200,000 GLOBAL opcodes naming 5,000 distinct globals, more than the scanner
//     remembers (4 x MaxGlobals), so each is graded again;
//   - stack-global: 300,000 STACK_GLOBAL of memoized strings;
//   - non-ascii: 300,000 short non-ASCII strings (UTF-8 checked by step);
//   - protocol0-ints: 300,000 INT text lines;
//   - far-memo: 300,000 PUTs at indices 4,096 apart (the sparse memo map).
func BenchmarkScanHostile(b *testing.B) {
	type shape struct {
		name string
		data []byte
	}
	var shapes []shape
	s := p(opPROTO, 2, opMARK)
	for i := 0; i < 200000; i++ {
		s = append(s, p(fmt.Sprintf("cm%d\nn%d\n", i%5000, i%5000), opPOP)...)
	}
	shapes = append(shapes, shape{"globals", append(s, opPOPMARK, opNONE, opSTOP)})
	s = p(opPROTO, 4, sbu("os"), opMEMOIZE, sbu("system"), opMEMOIZE, opPOP, opPOP)
	for i := 0; i < 300000; i++ {
		s = append(s, p(opBINGET, 0, opBINGET, 1, opSTACKGLOBAL, opPOP)...)
	}
	shapes = append(shapes, shape{"stack-global", append(s, opNONE, opSTOP)})
	s = p(opPROTO, 4)
	for i := 0; i < 300000; i++ {
		s = append(s, p(sbu("é"), opPOP)...)
	}
	shapes = append(shapes, shape{"non-ascii", append(s, opNONE, opSTOP)})
	s = nil
	for i := 0; i < 300000; i++ {
		s = append(s, "I12345\n0"...)
	}
	shapes = append(shapes, shape{"protocol0-ints", append(s, opNONE, opSTOP)})
	s = p(opPROTO, 4, opNONE)
	for i := 0; i < 300000; i++ {
		s = append(s, p(opLONGBINPUT, u32(uint32(i*4096)))...)
	}
	shapes = append(shapes, shape{"far-memo", append(s, opSTOP)})

	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			b.SetBytes(int64(len(sh.data)))
			b.ReportAllocs()
			for b.Loop() {
				if r, err := ScanBytes(sh.data, Limits{}); err != nil || r.Length != int64(len(sh.data)) {
					b.Fatalf("%v, %+v", err, r)
				}
			}
		})
	}
}
