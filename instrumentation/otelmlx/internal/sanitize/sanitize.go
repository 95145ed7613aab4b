// Package sanitize makes strings that came from outside the process safe to record.
//
// A model path, a model name or an error message can carry terminal escapes, CR/LF that forge
// extra log lines in line-oriented sinks, NUL bytes that truncate strings in C-based tooling, or
// Unicode bidirectional overrides that make a reviewer read a different name than the one
// recorded (Trojan Source). String escapes all of them into visible, reversible text and bounds
// the length with a marker a reader cannot miss.
package sanitize

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxLen is the byte bound used when a caller passes a non-positive limit.
const DefaultMaxLen = 1024

// truncMarker is appended, with the number of input bytes dropped, when a string is cut.
const truncMarker = "…[truncated "

// String returns s with control characters, invalid UTF-8, and invisible or direction-changing
// Unicode (anything not a letter, mark, number, punctuation, symbol or space, and the
// default-ignorable runes among those) escaped, bounded to at most maxLen bytes plus a truncation marker.
// Printable ASCII without backslashes is returned unchanged and without allocating.
func String(s string, maxLen int) string {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	if len(s) <= maxLen && isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), maxLen) + 16)
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		var buf [12]byte
		switch {
		case r == utf8.RuneError && size == 1:
			piece = string(appendHexByte(buf[:0], 'x', s[i]))
		case r == '\\':
			piece = `\\`
		case r == '\n':
			piece = `\n`
		case r == '\r':
			piece = `\r`
		case r == '\t':
			piece = `\t`
		case r < 0x20 || r == 0x7f:
			piece = string(appendHexByte(buf[:0], 'x', byte(r)))
		case mustEscape(r):
			piece = string(appendU(buf[:0], r))
		default:
			piece = s[i : i+size]
		}
		if b.Len()+len(piece) > maxLen {
			b.WriteString(truncMarker)
			b.WriteString(strconv.Itoa(len(s) - i))
			b.WriteString(" bytes]")
			return b.String()
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// visible are the categories a reader sees: letters, marks, numbers, punctuation, symbols and
// space separators. Everything else (controls, format characters such as bidirectional
// overrides, zero-width and tag characters, line and paragraph separators, private use,
// surrogates and unassigned code points) is escaped.
var visible = []*unicode.RangeTable{unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs}

// invisible are runes of visible categories that render as nothing: the default-ignorable code
// points (Hangul fillers, the combining grapheme joiner, Khmer inherent vowels) and variation
// selectors.
var invisible = []*unicode.RangeTable{unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector}

// mustEscape reports non-ASCII runes that are invisible or change how the text around them is
// displayed. It decides by Unicode property rather than by a list, so characters a list would
// miss (U+2060 word joiner, U+180E, soft hyphen, interlinear annotations, tag characters) are
// escaped too.
func mustEscape(r rune) bool {
	return !unicode.IsOneOf(visible, r) || unicode.IsOneOf(invisible, r)
}

const hexDigits = "0123456789abcdef"

func appendHexByte(dst []byte, kind byte, c byte) []byte {
	return append(dst, '\\', kind, hexDigits[c>>4], hexDigits[c&0xf])
}

// appendU appends \uXXXX, or \UXXXXXXXX for runes past U+FFFF, so the escape can be undone.
func appendU(dst []byte, r rune) []byte {
	kind, top := byte('u'), 12
	if r > 0xffff {
		kind, top = 'U', 28
	}
	dst = append(dst, '\\', kind)
	for shift := top; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(r>>uint(shift))&0xf])
	}
	return dst
}
