package pickle

import (
	"strings"
	"testing"
)

// TestValidUTF8 compares the word-at-a-time check with validUTF8Surrogates for every length up
// to 24 and every position of a non-ASCII byte, with the slice's capacity ending at its length
// (the tail is read byte by byte) and reaching past it (the tail is read as one masked word,
// over bytes that must not count).
func TestValidUTF8(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for at := -1; at < n; at++ {
			for _, bad := range []string{"\xff", "\xc3\xa9", "\xed\xa0\x80", "\xe9"} {
				b := []byte(strings.Repeat("a", n))
				if at >= 0 {
					b = append(b[:at], bad...)
					b = append(b, strings.Repeat("a", max(0, n-at-1))...)
				}
				want := validUTF8Surrogates(b)
				exact := b[:len(b):len(b)]
				padded := append(append([]byte{}, b...), "\xff\xff\xff\xff\xff\xff\xff\xff"...)[:len(b)]
				if got := validUTF8(exact); got != want {
					t.Errorf("%q (capacity = length): %v, want %v", b, got, want)
				}
				if got := validUTF8(padded); got != want {
					t.Errorf("%q (non-ASCII bytes past its end): %v, want %v", b, got, want)
				}
			}
		}
	}
}
