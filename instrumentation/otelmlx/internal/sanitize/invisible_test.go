package sanitize

import (
	"strings"
	"testing"
	"unicode"
)

// Issue 10 item 13: every invisible, zero-width or format character is escaped, not only the
// ones a list named. The class is Unicode's format characters (Cf), the default-ignorable code
// points, variation selectors, private use and unassigned code points.
func TestInvisibleCharactersAreEscaped(t *testing.T) {
	hostile := []rune{
		0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x180E, 0x200B, 0x2060, 0x2061, 0x2062,
		0x2063, 0x2064, 0x206A, 0x206F, 0x3164, 0xFE00, 0xFE0F, 0xFFA0, 0xFFF9, 0xFFFA, 0xFFFB,
		0x1D173, 0xE0000, 0xE0001, 0xE0020, 0xE0041, 0xE007F, 0xE0100, 0xE01EF, 0xF0000, 0x10FFFD,
		0xE000, 0x0378, // private use, unassigned
	}
	for _, r := range hostile {
		in := "ad" + string(r) + "min"
		got := String(in, 0)
		if strings.ContainsRune(got, r) {
			t.Errorf("U+%04X recorded raw: %q", r, got)
		}
		if !strings.HasPrefix(got, "ad\\u") && !strings.HasPrefix(got, "ad\\U") {
			t.Errorf("U+%04X: %q does not show the escape", r, got)
		}
	}
	// Escapes of runes past U+FFFF keep every digit, so they can be undone.
	if got := String("\U000E0041", 0); got != `\U000e0041` {
		t.Errorf("tag A escaped as %q", got)
	}
	// Every Cf rune of the Unicode tables, not only the listed ones.
	for _, rng := range unicode.Cf.R32 {
		for r := rng.Lo; r <= rng.Hi; r += rng.Stride {
			if strings.ContainsRune(String(string(rune(r)), 0), rune(r)) {
				t.Fatalf("format character U+%04X recorded raw", r)
			}
		}
	}
	for _, rng := range unicode.Cf.R16 {
		for r := uint32(rng.Lo); r <= uint32(rng.Hi); r += uint32(rng.Stride) {
			if strings.ContainsRune(String(string(rune(r)), 0), rune(r)) {
				t.Fatalf("format character U+%04X recorded raw", r)
			}
		}
	}
	// Visible text stays as it is.
	for _, s := range []string{"modèle-日本", "Ünïcødé", "😀", "a b", "ÿ"} {
		if got := String(s, 0); got != s {
			t.Errorf("visible %q changed to %q", s, got)
		}
	}
}
