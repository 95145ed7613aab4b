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
	"unicode/utf8"
)

// DefaultMaxLen is the byte bound used when a caller passes a non-positive limit.
const DefaultMaxLen = 1024

// truncMarker is appended, with the number of input bytes dropped, when a string is cut.
const truncMarker = "…[truncated "

// String returns s with control characters, invalid UTF-8, and invisible or direction-changing
// Unicode escaped, bounded to at most maxLen bytes plus a truncation marker.
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

// mustEscape reports runes that are printable in the Go sense but change how text around them
// is displayed: C1 controls, bidirectional embeddings, overrides and isolates, zero-width
// characters, line and paragraph separators, and the byte order mark.
func mustEscape(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x200b && r <= 0x200d:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029, r == 0xfeff:
		return true
	}
	return false
}

const hexDigits = "0123456789abcdef"

func appendHexByte(dst []byte, kind byte, c byte) []byte {
	return append(dst, '\\', kind, hexDigits[c>>4], hexDigits[c&0xf])
}

func appendU(dst []byte, r rune) []byte {
	dst = append(dst, '\\', 'u')
	for shift := 12; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(r>>uint(shift))&0xf])
	}
	return dst
}
