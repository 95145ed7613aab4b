package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runReview(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestReviewCountsWhatWasWritten reviews a folder with a plain and a gzip'ed (rotated) file
// plus malformed lines, and checks every figure against what the generator wrote.
func TestReviewCountsWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	a := writeScenario(t, filepath.Join(dir, "mlx.json"), smallScenario(1), false)
	b := writeScenario(t, filepath.Join(dir, "mlx-2026-03-03T00-00-00.000.json.gz"), smallScenario(2), true)
	bad := "not json\n{\"resourceSpans\": [ truncated\n{\"foo\": 1}\n\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz-bad.json"), []byte(bad), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz-bad.gz"), []byte{0x1f, 0x8b, 8, 0, 1, 2}, 0o600))

	html := filepath.Join(t.TempDir(), "review.html")
	out, stderr, code := runReview(t, "--html", html, dir)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr, "no progress bar when stderr is not a terminal")

	spans, logs := a.spans+b.spans, a.logs+b.logs
	assert.Contains(t, out, fmt.Sprintf("mlxreview: %d records (%d spans, %d log records, 0 metric points)", spans+logs, spans, logs))
	assert.Contains(t, out, "malformed: 4 line(s) or file(s) skipped")
	assert.Contains(t, out, "zz-bad.json:1: not a JSON object")
	assert.Contains(t, out, "zz-bad.json:2: traces request")
	assert.Contains(t, out, "zz-bad.json:3: not an OTLP")
	assert.Contains(t, out, "zz-bad.gz: gzip")
	require.Greater(t, a.flags+b.flags, 0)
	assert.Contains(t, out, fmt.Sprintf("incidents: %d flagged items", a.flags+b.flags))
	types := map[string]int{}
	for k, v := range a.flagTypes {
		types[k] += v
	}
	for k, v := range b.flagTypes {
		types[k] += v
	}
	for typ, n := range types {
		assert.Regexp(t, regexp.MustCompile(`(?m)^  `+typ+` +`+strconv.Itoa(n)+` +AML\.T\d{4}`), out, typ)
	}
	digests := len(a.digests) + len(b.digests)
	assert.Contains(t, out, fmt.Sprintf("%d digests, %d denials, 0 integrity mismatches", digests, a.denials+b.denials))
	assert.Contains(t, out, "HTML report: "+html)

	page, err := os.ReadFile(html)
	require.NoError(t, err)
	for _, ref := range []string{"src=", "href=", "url(", "<link", "<script", "@import"} {
		assert.NotContains(t, string(page), ref, "self-contained: no external or scripted content")
	}
}

func TestUsageAndBadArguments(t *testing.T) {
	_, stderr, code := runReview(t)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: mlxreview")
	_, stderr, code = runReview(t, filepath.Join(t.TempDir(), "missing.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing.json")
	_, stderr, code = runReview(t, "--html", filepath.Join(t.TempDir(), "no", "such", "dir.html"), writeTiny(t))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--html")
}

func writeTiny(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "x.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"resourceSpans":[]}`+"\n"), 0o600))
	return p
}

// TestHostileStrings: strings from the input reach the terminal escaped and the page escaped.
func TestHostileStrings(t *testing.T) {
	line := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc\u001b[31m"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1764300000000000000","eventName":"mlx.model.policy.denied","attributes":[` +
		`{"key":"gen_ai.request.model","value":{"stringValue":"<script>alert(1)</script>\u202e"}},{"key":"mlx.model.source","value":{"stringValue":"file:///x\n[fake] line"}},{"key":"mlx.policy.decision","value":{"stringValue":"deny"}}]}]}]}]}`
	p := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(p, []byte(line+"\n"), 0o600))
	html := filepath.Join(t.TempDir(), "h.html")
	out, stderr, code := runReview(t, "--html", html, p)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\u202e")
	assert.NotContains(t, out, "x\n[fake]")
	assert.Contains(t, out, `file:///x\n[fake] line`)
	page, _ := os.ReadFile(html)
	assert.NotContains(t, string(page), "<script>")
	assert.True(t, strings.Contains(string(page), "&lt;script&gt;"))
}
