package sniff

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The .npy header is a Python literal (numpy writes it with repr and reads it with
// ast.literal_eval): a dict of strings, booleans, None, numbers, tuples and lists. pyParse
// reads that grammar, the parts Python gives it included (either quote, string prefixes,
// escapes, implicit concatenation of adjacent strings, trailing commas, parenthesised values),
// so the verdict is taken on the value numpy sees and not on the spelling of the text.

type pyKind uint8

const (
	pyStr pyKind = iota
	pyInt
	pyFloat
	pyBool
	pyNone
	pyTuple
	pyList
	pyDict
)

type pyVal struct {
	kind  pyKind
	s     string // pyStr
	b     bool   // pyBool
	items []pyVal
	keys  []pyVal // pyDict: keys[i] maps to items[i]
}

// maxLiteralDepth bounds nesting: Python's own parser stops far below what a 1 MiB header
// could nest, and the recursion here must too.
const maxLiteralDepth = 64

type pyParser struct {
	s     string
	i     int
	depth int
}

var errLiteral = errors.New("header is not a Python literal")

func pyParse(s string) (pyVal, error) {
	p := &pyParser{s: s}
	v, err := p.value()
	if err != nil {
		return v, err
	}
	p.space()
	if p.i != len(p.s) {
		return v, fmt.Errorf("%w: unexpected %q at offset %d", errLiteral, clip(p.s[p.i:]), p.i)
	}
	return v, nil
}

func (p *pyParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r\f\v", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errLiteral, what, p.i)
}

func (p *pyParser) value() (pyVal, error) {
	p.space()
	if p.i >= len(p.s) {
		return pyVal{}, p.fail("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{' || c == '[' || c == '(':
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxLiteralDepth {
			return pyVal{}, p.fail("nested too deeply")
		}
		p.i++
		switch c {
		case '{':
			return p.dict()
		case '[':
			items, _, err := p.seq(']')
			return pyVal{kind: pyList, items: items}, err
		}
		items, comma, err := p.seq(')')
		if err == nil && len(items) == 1 && !comma {
			return items[0], nil // (x) is x, not a tuple
		}
		return pyVal{kind: pyTuple, items: items}, err
	case c == '\'' || c == '"' || isStrPrefix(p.s[p.i:]):
		return p.strings()
	case c == '-' || c == '+' || (c >= '0' && c <= '9') || c == '.':
		return p.number()
	}
	for _, kw := range []struct {
		word string
		v    pyVal
	}{{"True", pyVal{kind: pyBool, b: true}}, {"False", pyVal{kind: pyBool}}, {"None", pyVal{kind: pyNone}}} {
		if strings.HasPrefix(p.s[p.i:], kw.word) && !identByte(p.s, p.i+len(kw.word)) {
			p.i += len(kw.word)
			return kw.v, nil
		}
	}
	return pyVal{}, p.fail("not a literal")
}

func identByte(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// seq reads comma-separated values up to end; comma reports whether any comma was read.
func (p *pyParser) seq(end byte) (items []pyVal, comma bool, err error) {
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == end {
			p.i++
			return items, comma, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, comma, err
		}
		items = append(items, v)
		p.space()
		switch {
		case p.i < len(p.s) && p.s[p.i] == ',':
			p.i++
			comma = true
		case p.i < len(p.s) && p.s[p.i] == end:
		default:
			return nil, comma, p.fail("expected ',' or '" + string(end) + "'")
		}
	}
}

func (p *pyParser) dict() (pyVal, error) {
	d := pyVal{kind: pyDict}
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return d, nil
		}
		k, err := p.value()
		if err != nil {
			return d, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return d, p.fail("expected ':'")
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return d, err
		}
		d.keys, d.items = append(d.keys, k), append(d.items, v)
		p.space()
		switch {
		case p.i < len(p.s) && p.s[p.i] == ',':
			p.i++
		case p.i < len(p.s) && p.s[p.i] == '}':
		default:
			return d, p.fail("expected ',' or '}'")
		}
	}
}

func isStrPrefix(s string) bool {
	for n := 1; n <= 2 && n < len(s); n++ {
		if s[n] == '\'' || s[n] == '"' {
			return strings.IndexByte("uUbBrR", s[0]) >= 0 && (n == 1 || strings.IndexByte("uUbBrR", s[1]) >= 0)
		}
	}
	return false
}

// strings reads one or more adjacent string literals and concatenates them, as Python does.
func (p *pyParser) strings() (pyVal, error) {
	var b strings.Builder
	for {
		s, err := p.str()
		if err != nil {
			return pyVal{}, err
		}
		b.WriteString(s)
		p.space()
		if p.i >= len(p.s) || !(p.s[p.i] == '\'' || p.s[p.i] == '"' || isStrPrefix(p.s[p.i:])) {
			return pyVal{kind: pyStr, s: b.String()}, nil
		}
	}
}

func (p *pyParser) str() (string, error) {
	raw := false
	for p.i < len(p.s) && p.s[p.i] != '\'' && p.s[p.i] != '"' {
		if p.s[p.i] == 'r' || p.s[p.i] == 'R' {
			raw = true
		}
		p.i++
	}
	if p.i >= len(p.s) {
		return "", p.fail("unterminated string")
	}
	q := p.s[p.i]
	if strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3)) {
		return "", p.fail("triple-quoted strings are not read")
	}
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\n':
			return "", p.fail("newline in string")
		case c == '\\' && raw:
			if p.i+1 < len(p.s) {
				b.WriteString(p.s[p.i : p.i+2])
				p.i += 2
				continue
			}
			p.i++
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", p.fail("unterminated string")
}

func (p *pyParser) escape(b *strings.Builder) error {
	p.i++ // the backslash
	if p.i >= len(p.s) {
		return p.fail("unterminated escape")
	}
	c := p.s[p.i]
	p.i++
	hex := func(n int) error {
		if p.i+n > len(p.s) {
			return p.fail("short escape")
		}
		v, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
		if err != nil || v > utf8.MaxRune {
			return p.fail("invalid escape")
		}
		p.i += n
		b.WriteRune(rune(v))
		return nil
	}
	switch c {
	case '\n':
	case '\\', '\'', '"':
		b.WriteByte(c)
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'v':
		b.WriteByte('\v')
	case 'x':
		return hex(2)
	case 'u':
		return hex(4)
	case 'U':
		return hex(8)
	case 'N':
		return p.fail(`\N{...} escapes are not read`)
	default:
		if c >= '0' && c <= '7' {
			v := int(c - '0')
			for n := 0; n < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; n++ {
				v = v*8 + int(p.s[p.i]-'0')
				p.i++
			}
			b.WriteRune(rune(v))
			return nil
		}
		b.WriteByte('\\') // Python keeps unknown escapes as they are
		b.WriteByte(c)
	}
	return nil
}

func (p *pyParser) number() (pyVal, error) {
	start := p.i
	if p.s[p.i] == '-' || p.s[p.i] == '+' {
		p.i++
		p.space()
	}
	digits := p.i
	float := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case (c >= '0' && c <= '9') || c == '_':
		case c == '.' || c == 'e' || c == 'E' || ((c == '-' || c == '+') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E')):
			float = true
		case c == 'L' || c == 'l':
			p.i++ // Python 2 long suffix, as old numpy wrote shapes
			return pyVal{kind: pyInt, s: p.s[start : p.i-1]}, nil
		default:
			if identByte(p.s, p.i) {
				return pyVal{}, p.fail("invalid number")
			}
			goto done
		}
		p.i++
	}
done:
	if p.i == digits {
		return pyVal{}, p.fail("invalid number")
	}
	if float {
		return pyVal{kind: pyFloat, s: p.s[start:p.i]}, nil
	}
	return pyVal{kind: pyInt, s: p.s[start:p.i]}, nil
}

// npyDescr checks a parsed header as numpy does (exactly the keys descr, fortran_order and
// shape; fortran_order a bool; shape a tuple of non-negative ints; a later duplicate key wins,
// as in a Python dict) and returns its descr.
func npyDescr(v pyVal) (pyVal, error) {
	if v.kind != pyDict {
		return pyVal{}, errors.New("header is not a dict")
	}
	fields := map[string]pyVal{}
	for i, k := range v.keys {
		if k.kind != pyStr {
			return pyVal{}, errors.New("header has a key that is not a string")
		}
		fields[k.s] = v.items[i]
	}
	for k := range fields {
		if k != "descr" && k != "fortran_order" && k != "shape" {
			return pyVal{}, fmt.Errorf("header has the unexpected key %s", strconv.Quote(clip(k)))
		}
	}
	descr, ok := fields["descr"]
	if !ok {
		return pyVal{}, errors.New("header has no 'descr' key")
	}
	if f, ok := fields["fortran_order"]; !ok || f.kind != pyBool {
		return pyVal{}, errors.New("header's 'fortran_order' is missing or not True/False")
	}
	shape, ok := fields["shape"]
	if !ok || shape.kind != pyTuple {
		return pyVal{}, errors.New("header's 'shape' is missing or not a tuple")
	}
	for _, d := range shape.items {
		if d.kind != pyInt || strings.HasPrefix(d.s, "-") {
			return pyVal{}, errors.New("header's 'shape' holds something other than non-negative integers")
		}
	}
	return descr, nil
}

// objectDescr reports whether a descr holds Python objects anywhere: a type string that names
// the object type (any spelling: 'O', '|O8', 'object', a comma-separated list of field types
// with one), or a structured dtype with such a field at any depth. Field names and titles are
// names, not types. A descr of a form numpy does not write is judged on every string in it.
func objectDescr(d pyVal) bool {
	switch d.kind {
	case pyStr:
		return objectTypeString(d.s)
	case pyList:
		for _, f := range d.items {
			if f.kind != pyTuple || len(f.items) < 2 {
				if anyObjectString(f) {
					return true
				}
				continue
			}
			if objectDescr(f.items[1]) {
				return true
			}
		}
		return false
	case pyTuple:
		// (base, shape): a subarray of base.
		if len(d.items) > 0 && objectDescr(d.items[0]) {
			return true
		}
		return anyObjectString(d)
	}
	return anyObjectString(d)
}

func anyObjectString(v pyVal) bool {
	if v.kind == pyStr {
		return objectTypeString(v.s)
	}
	for _, x := range v.keys {
		if anyObjectString(x) {
			return true
		}
	}
	for _, x := range v.items {
		if anyObjectString(x) {
			return true
		}
	}
	return false
}

// objectTypeString reports a dtype string that can make an object array. No other type code
// or unit of numpy's type strings holds an upper-case O or the word object, so the test covers
// every spelling ('O', '|O', '=O8', 'object', 'object_', 'f4,O', '(2,)O') at the cost of
// refusing strings numpy would reject anyway.
func objectTypeString(s string) bool {
	return strings.ContainsRune(s, 'O') || strings.Contains(strings.ToLower(s), "object")
}
