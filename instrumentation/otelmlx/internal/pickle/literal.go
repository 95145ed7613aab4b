package pickle

import (
	"bytes"
	"unicode/utf8"
)

// The protocol 0 opcodes carry their arguments as text lines. CPython parses them with int(),
// float() and codecs.escape_decode(); these checks accept the same shapes (loosely where CPython
// is lenient, never more strictly), so a stream CPython loads is never called malformed.

// intLiteral accepts what int(x, 0) takes for INT and LONG lines: optional sign, digits in base
// 10 or with a 0x/0o/0b prefix, underscores, surrounding spaces, and (LONG) a trailing L.
func intLiteral(l []byte, long bool) bool {
	l = bytes.TrimSpace(l)
	if long && len(l) > 0 && l[len(l)-1] == 'L' {
		l = l[:len(l)-1]
	}
	if len(l) > 0 && (l[0] == '+' || l[0] == '-') {
		l = l[1:]
	}
	if len(l) == 0 {
		return false
	}
	digits := 0
	for i, c := range l {
		switch {
		case c >= '0' && c <= '9', c == '_':
			digits++
		case i == 1 && l[0] == '0' && (c|0x20 == 'x' || c|0x20 == 'o' || c|0x20 == 'b'):
		case (c|0x20) >= 'a' && (c|0x20) <= 'f' && len(l) > 1 && l[1]|0x20 == 'x':
			digits++
		default:
			return false
		}
	}
	return digits > 0
}

// floatLiteral accepts what float() takes: decimal and exponent forms, inf and nan.
func floatLiteral(l []byte) bool {
	l = bytes.TrimSpace(l)
	if len(l) == 0 {
		return false
	}
	for _, c := range l {
		switch {
		case c >= '0' && c <= '9', c == '.', c == '+', c == '-', c == '_', c|0x20 == 'e':
		case bytes.ContainsRune([]byte("infatyINFATY"), rune(c)):
		default:
			return false
		}
	}
	return true
}

// decimal parses the memo index of GET and PUT.
func decimal(l []byte) (uint64, bool) {
	l = bytes.TrimSpace(l)
	if len(l) == 0 || len(l) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range l {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// unquote decodes a STRING argument: quoted with ' or " at both ends, backslash escapes as
// Python's escape_decode reads them.
func unquote(l []byte) ([]byte, bool) {
	if len(l) < 2 || l[0] != l[len(l)-1] || (l[0] != '\'' && l[0] != '"') {
		return nil, false
	}
	l = l[1 : len(l)-1]
	if bytes.IndexByte(l, '\\') < 0 {
		return l, true
	}
	out := make([]byte, 0, len(l))
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i == len(l) {
			return nil, false // trailing backslash: escape_decode raises
		}
		switch c = l[i]; c {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'v':
			out = append(out, 11)
		case '\\', '\'', '"':
			out = append(out, c)
		case '\n':
		case 'x':
			if i+2 >= len(l) {
				return nil, false
			}
			h, ok1 := unhex(l[i+1])
			lo, ok2 := unhex(l[i+2])
			if !ok1 || !ok2 {
				return nil, false
			}
			out = append(out, h<<4|lo)
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(l) && l[i+1] >= '0' && l[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(l[i]-'0')
			}
			out = append(out, byte(v))
		default:
			out = append(out, '\\', c)
		}
	}
	return out, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// rawUnicodeEscape decodes a UNICODE argument (raw-unicode-escape: latin-1 bytes with \uXXXX
// and \UXXXXXXXX escapes) to UTF-8.
func rawUnicodeEscape(l []byte) []byte {
	out := make([]byte, 0, len(l))
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '\\' && i+1 < len(l) && (l[i+1] == 'u' || l[i+1] == 'U') {
			n := 4
			if l[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(l) {
				var r rune
				ok := true
				for _, h := range l[i+2 : i+2+n] {
					d, k := unhex(h)
					ok = ok && k
					r = r<<4 | rune(d)
				}
				if ok {
					out = utf8.AppendRune(out, r)
					i += 1 + n
					continue
				}
			}
		}
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
