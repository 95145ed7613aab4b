package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
		max            int
	}{
		{"plain", "/srv/models/tiny-lm", "/srv/models/tiny-lm", 0},
		{"crlf log forging", "model\r\nINFO admin logged in", `model\r\nINFO admin logged in`, 0},
		{"ansi escape", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`, 0},
		{"nul", "a\x00b", `a\x00b`, 0},
		{"del", "a\x7fb", `a\x7fb`, 0},
		{"backslash is escaped so output is unambiguous", `a\x00`, `a\\x00`, 0},
		{"bidi override", "safe\u202Eexe.txt", `safe\u202eexe.txt`, 0},
		{"bidi isolate", "a\u2066b\u2069", `a\u2066b\u2069`, 0},
		{"zero width", "ad\u200bmin", `ad\u200bmin`, 0},
		{"line separator", "a\u2028b", `a\u2028b`, 0},
		{"c1 control", "a\u0085b", `a\u0085b`, 0},
		{"invalid utf8", "a\xffb", `a\xffb`, 0},
		{"printable unicode kept", "modèle-日本", "modèle-日本", 0},
		{"truncated", strings.Repeat("a", 20), "aaaaaaaaaa…[truncated 10 bytes]", 10},
		{"truncation never splits an escape", "aaaaaaaa\n", `aaaaaaaa…[truncated 1 bytes]`, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in, tt.max); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStringPlainDoesNotAllocate(t *testing.T) {
	s := "file:///srv/models/tiny-lm/model.safetensors"
	if n := testing.AllocsPerRun(100, func() { _ = String(s, 0) }); n != 0 {
		t.Fatalf("plain string allocated %v times", n)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\r\nb", "\x1b[2J", "\u202e", "\xff\xfe", strings.Repeat("é", 600)} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, maxLen int) {
		if maxLen > 1<<16 {
			maxLen = 1 << 16
		}
		out := String(s, maxLen)
		limit := maxLen
		if limit <= 0 {
			limit = DefaultMaxLen
		}
		body, _, cut := strings.Cut(out, truncMarker)
		if len(body) > limit {
			t.Fatalf("output body %d bytes exceeds bound %d", len(body), limit)
		}
		if !cut && len(s) <= limit && isPlain(s) && out != s {
			t.Fatalf("plain input changed: %q -> %q", s, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("output is not valid UTF-8: %q", out)
		}
		for _, r := range body {
			if r < 0x20 || r == 0x7f || mustEscape(r) {
				t.Fatalf("output %q still contains %U", out, r)
			}
		}
	})
}
