package sniff

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// npyDict wraps a header dictionary literal in a v1.0 .npy file.
func npyDict(dict string) []byte {
	dict += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	b.Write(make([]byte, 64))
	return b.Bytes()
}

// Issue 10 item 5: the .npy header is parsed as the Python literal it is, and object dtypes are
// found on the parsed descr: every spelling numpy reads as an object, in any key order and
// quoting, inside structured dtypes, and the same inside .npz.
func TestNPYObjectDtypesAreFoundOnTheParsedHeader(t *testing.T) {
	unsafe := map[string]string{
		"object":                     `{'descr': 'object', 'fortran_order': False, 'shape': (3,), }`,
		"O8":                         `{'descr': 'O8', 'fortran_order': False, 'shape': (3,), }`,
		"|O8":                        `{'descr': '|O8', 'fortran_order': False, 'shape': (3,), }`,
		"|O":                         `{'descr': '|O', 'fortran_order': False, 'shape': (3,), }`,
		"=O":                         `{'descr': '=O', 'fortran_order': False, 'shape': (3,), }`,
		"structured object":          `{'descr': [('a', 'object')], 'fortran_order': False, 'shape': (3,), }`,
		"field named fortran_order":  `{'descr': [('fortran_order', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (3,), }`,
		"field named shape":          `{'descr': [('shape', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (3,), }`,
		"descr after fortran_order":  `{'fortran_order': False, 'descr': '|O', 'shape': (3,), }`,
		"descr last":                 `{'shape': (3,), 'fortran_order': False, 'descr': 'O'}`,
		"double-quoted keys":         `{"descr": "|O", "fortran_order": False, "shape": (3,)}`,
		"mixed quotes":               `{"descr": '|O', 'fortran_order': False, "shape": (3,)}`,
		"implicit concatenation":     `{'descr': '|' 'O', 'fortran_order': False, 'shape': (3,), }`,
		"escaped O":                  `{'descr': '|\x4f', 'fortran_order': False, 'shape': (3,), }`,
		"nested structured":          `{'descr': [('a', [('b', '<f4'), ('c', 'O')])], 'fortran_order': False, 'shape': (3,), }`,
		"subarray field":             `{'descr': [('a', '|O', (2, 2))], 'fortran_order': False, 'shape': (3,), }`,
		"titled field":               `{'descr': [(('title', 'a'), '|O')], 'fortran_order': False, 'shape': (3,), }`,
		"comma-separated fields":     `{'descr': '<f4,O', 'fortran_order': False, 'shape': (3,), }`,
		"whitespace and newlines":    "{ 'descr' :\n '|O8' ,\t'fortran_order' : False , 'shape' : ( 3 , ) }",
		"duplicate descr, last wins": `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'descr': '|O'}`,
		"unicode prefix":             `{u'descr': u'|O', u'fortran_order': False, u'shape': (3,)}`,
	}
	for name, d := range unsafe {
		r := sniffBytes(t, npyDict(d))
		if r.Format != NPY || !r.Unsafe || r.Err != nil {
			t.Errorf("%s: %s reported %s unsafe=%v err=%v", name, d, r.Format, r.Unsafe, r.Err)
		}
		z := sniffBytes(t, zipFile(t, map[string][]byte{"a.npy": npyDict(d)}))
		if !z.Unsafe {
			t.Errorf("%s inside .npz: reported %s unsafe=%v err=%v", name, z.Format, z.Unsafe, z.Err)
		}
	}
	safe := map[string]string{
		"float":                `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`,
		"field named O":        `{'descr': [('O', '<f4'), ('object', '<i8')], 'fortran_order': False, 'shape': (3,), }`,
		"datetime":             `{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (3,), }`,
		"bytes":                `{'descr': '|S5', 'fortran_order': True, 'shape': (), }`,
		"double quotes, float": `{"descr": "<f8", "fortran_order": False, "shape": (2, 3)}`,
	}
	for name, d := range safe {
		if r := sniffBytes(t, npyDict(d)); r.Format != NPY || r.Unsafe || r.Err != nil {
			t.Errorf("%s: %s reported %s unsafe=%v err=%v", name, d, r.Format, r.Unsafe, r.Err)
		}
	}
	malformed := map[string]string{
		"not a literal":    `{'descr': __import__('os'), 'fortran_order': False, 'shape': (3,)}`,
		"missing shape":    `{'descr': '<f4', 'fortran_order': False}`,
		"extra key":        `{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}`,
		"unterminated":     `{'descr': '<f4', 'fortran_order': False, 'shape': (3,`,
		"shape not ints":   `{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}`,
		"fortran not bool": `{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}`,
		"deep nesting":     `{'descr': ` + repeat("[", 500) + repeat("]", 500) + `, 'fortran_order': False, 'shape': (3,)}`,
		"trailing garbage": `{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x`,
	}
	for name, d := range malformed {
		if r := sniffBytes(t, npyDict(d)); r.Err == nil {
			t.Errorf("%s: %s accepted (unsafe=%v)", name, d, r.Unsafe)
		}
	}
}

func repeat(s string, n int) string { return string(bytes.Repeat([]byte(s), n)) }

// FuzzNPYHeaderLiteral: the literal parser never panics or recurses without bound, and a header
// that parses is judged the same when its keys are written with the other quote.
func FuzzNPYHeaderLiteral(f *testing.F) {
	for _, s := range []string{
		`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`,
		`{"descr": [('a', '|O', (2,))], "fortran_order": True, "shape": ()}`,
		`{'descr': '|' 'O', 'fortran_order': False, 'shape': (1L, 2)}`,
		`{u'descr': r'\x4f', b'x': -1.5e3, 'shape': ((((1)))), }`, `[`, `'\`, `(,)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := pyParse(s)
		if err != nil {
			return
		}
		d, err := npyDescr(v)
		if err != nil {
			return
		}
		swapped := strings.NewReplacer(`'descr'`, `"descr"`, `'shape'`, `"shape"`, `'fortran_order'`, `"fortran_order"`).Replace(s)
		if v2, err := pyParse(swapped); err == nil {
			if d2, err := npyDescr(v2); err == nil && objectDescr(d) != objectDescr(d2) {
				t.Fatalf("verdict changed with the quotes of the keys: %q / %q", s, swapped)
			}
		}
	})
}
