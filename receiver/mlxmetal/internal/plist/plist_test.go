package plist

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const doc = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<!-- a comment -->
<dict>
	<key>s</key><string>Apple M1 &amp; &lt;GPU&gt;</string>
	<key>i</key><integer>-42</integer>
	<key>big</key><integer>18446744073709551615</integer>
	<key>hex</key><integer>0x10</integer>
	<key>r</key><real>2.5e3</real>
	<key>t</key><true/>
	<key>f</key><false/>
	<key>d</key><data>
		AQID
		BA==
	</data>
	<key>when</key><date>2024-03-01T12:00:00Z</date>
	<key>arr</key><array><integer>1</integer><array/><dict/></array>
	<key>empty</key><string></string>
</dict>
</plist>`

func TestParseAllTypes(t *testing.T) {
	v, err := Parse([]byte(doc))
	require.NoError(t, err)
	require.Equal(t, Dict, v.Kind)
	get := func(k string) *Value {
		x, ok := v.Get(k)
		require.True(t, ok, k)
		return x
	}
	assert.Equal(t, "Apple M1 & <GPU>", get("s").Str)
	n, ok := get("i").Int64()
	assert.True(t, ok)
	assert.Equal(t, int64(-42), n)
	assert.True(t, get("big").Unsigned)
	assert.Equal(t, uint64(18446744073709551615), get("big").Uint)
	_, ok = get("big").Int64()
	assert.False(t, ok, "a value above MaxInt64 is not an int64")
	f, ok := get("big").Float()
	assert.True(t, ok)
	assert.InDelta(t, 1.8446744073709552e19, f, 1e5)
	assert.Equal(t, int64(16), get("hex").Int)
	assert.Equal(t, 2500.0, get("r").Real)
	assert.True(t, get("t").Bool)
	assert.Equal(t, Bool, get("f").Kind)
	assert.False(t, get("f").Bool)
	assert.Equal(t, []byte{1, 2, 3, 4}, get("d").Bytes)
	assert.Equal(t, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), get("when").Time)
	arr := get("arr")
	require.Len(t, arr.Items, 3)
	assert.Equal(t, Array, arr.Items[1].Kind)
	assert.Equal(t, Dict, arr.Items[2].Kind)
	assert.Equal(t, "", get("empty").Str)
	_, ok = v.Get("nope")
	assert.False(t, ok)
	assert.Equal(t, []string{"s", "i", "big", "hex", "r", "t", "f", "d", "when", "arr", "empty"}, v.Keys, "document order is kept")
}

func TestParseBareValue(t *testing.T) {
	v, err := Parse([]byte(`<array><string>x</string></array>`))
	require.NoError(t, err)
	require.Len(t, v.Items, 1)
}

func TestRealIsIntegral(t *testing.T) {
	v, err := Parse([]byte(`<array><real>100.0</real><real>1.5</real><real>nan</real></array>`))
	require.NoError(t, err)
	n, ok := v.Items[0].Int64()
	assert.True(t, ok)
	assert.Equal(t, int64(100), n)
	_, ok = v.Items[1].Int64()
	assert.False(t, ok)
	_, ok = v.Items[2].Float()
	assert.False(t, ok, "NaN is not a usable number")
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"empty":             ``,
		"whitespace only":   "  \n",
		"text only":         `hello`,
		"unknown element":   `<plist><foo/></plist>`,
		"two top values":    `<plist><true/><false/></plist>`,
		"unterminated":      `<plist><dict><key>a</key><string>x`,
		"key without value": `<dict><key>a</key></dict>`,
		"value without key": `<dict><string>x</string></dict>`,
		"two keys":          `<dict><key>a</key><key>b</key><true/></dict>`,
		"bad integer":       `<integer>12abc</integer>`,
		"overflow integer":  `<integer>-99999999999999999999</integer>`,
		"bad real":          `<real>fast</real>`,
		"bad data":          `<data>!!!!</data>`,
		"bad date":          `<date>yesterday</date>`,
		"mismatched":        `<dict><key>a</key><array></dict></array>`,
		"nested in string":  `<string><true/></string>`,
		"true with text":    `<true>yes</true>`,
		"text in array":     `<array>x</array>`,
		"text in dict":      `<dict>x</dict>`,
		"stray end":         `</plist>`,
		"unclosed plist":    `<plist><true/>`,
		"unknown entity":    `<string>&bogus;</string>`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(in))
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "plist"), err.Error())
		})
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("<array>", 100) + strings.Repeat("</array>", 100)
	_, err := Parse([]byte(deep))
	assert.True(t, errors.Is(err, ErrTooLarge), "%v", err)

	many := "<array>" + strings.Repeat("<true/>", 50) + "</array>"
	_, err = ParseLimits([]byte(many), Limits{MaxValues: 10})
	assert.True(t, errors.Is(err, ErrTooLarge), "%v", err)

	_, err = ParseLimits([]byte(many), Limits{MaxBytes: 10})
	assert.True(t, errors.Is(err, ErrTooLarge), "%v", err)

	_, err = ParseLimits([]byte(many), Limits{MaxValues: 100, MaxDepth: 2, MaxBytes: 1 << 10})
	assert.NoError(t, err)
}

func TestErrorMessageIsBounded(t *testing.T) {
	_, err := Parse([]byte("<integer>" + strings.Repeat("9x", 5000) + "\x1b[31m</integer>"))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
}

// TestAgreesWithEncodingXML checks the scanner against the encoding/xml reference on the
// fixtures and on documents that exercise the XML corners plists can contain.
func TestAgreesWithEncodingXML(t *testing.T) {
	docs := []string{
		doc,
		"<plist version='1.0'><string>a\r\nb\rc</string></plist>",
		`<string><![CDATA[x < y & z]]> &#65;&#x42;&quot;&apos;</string>`,
		`<dict><!-- c --><key>k<!-- in key --></key><?pi x?><string>v</string></dict>`,
		`<array><string/><data/><dict/><array/></array>`,
		"<string>é中</string>",
	}
	files, _ := filepath.Glob("../../testdata/ioreg/*.plist")
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs = append(docs, string(b))
	}
	for _, d := range docs {
		got, err := Parse([]byte(d))
		want, refErr := refParseLimits([]byte(d), DefaultLimits)
		require.Equal(t, refErr == nil, err == nil, "%q: scanner %v, encoding/xml %v", clip(d), err, refErr)
		assert.Equal(t, want, got, clip(d))
	}
}

func TestParseFixtures(t *testing.T) {
	files, err := filepath.Glob("../../testdata/ioreg/*.plist")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = Parse(b)
		if strings.Contains(filepath.Base(f), "malformed") {
			assert.Error(t, err, f)
		} else {
			assert.NoError(t, err, f)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(doc))
	files, _ := filepath.Glob("../../testdata/ioreg/*.plist")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<dict><key>a</key><data>AA==</data></dict>`))
	lim := Limits{MaxBytes: 1 << 16, MaxDepth: 32, MaxValues: 4096}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := ParseLimits(in, lim)
		ref, refErr := refParseLimits(in, lim)
		if err == nil && refErr == nil && !reflect.DeepEqual(v, ref) {
			t.Fatalf("scanner and encoding/xml disagree on %q:\n%#v\n%#v", in, v, ref)
		}
		if err != nil {
			return
		}
		// A parsed document is walkable and consistent.
		var walk func(*Value, int)
		walk = func(x *Value, d int) {
			if d > 33 {
				t.Fatalf("depth %d beyond the limit", d)
			}
			if len(x.Keys) != len(x.Vals) {
				t.Fatalf("dict with %d keys and %d values", len(x.Keys), len(x.Vals))
			}
			for i := range x.Items {
				walk(&x.Items[i], d+1)
			}
			for i := range x.Vals {
				walk(&x.Vals[i], d+1)
			}
		}
		walk(&v, 1)
	})
}
