package main

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds the browser. Without one the test is skipped, unless
// OTELMLX_REQUIRE_CHROMIUM=1 (set by `make test-review`, which installs Debian's chromium
// first): there a missing browser is a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("OTELMLX_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("no chromium on PATH; `make test-review` installs Debian's chromium")
	}
	t.Skip("no chromium on PATH: `make test-review` installs it and runs this test")
	return ""
}

func headless(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	return out
}

// TestReportInChromium renders the report of flagged scenario traffic in headless Chromium:
// the DOM it builds shows every incident type with its ATLAS id, a timeline dot per type, a
// chart per model with anomaly markers, the inventory and callers; the screenshot shows the
// charts (red anomaly markers, blue latency lines) and is kept as test output.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	tr := writeScenario(t, filepath.Join(dir, "mlx.json"), smallScenario(3), false)
	out := os.Getenv("MLXREVIEW_TEST_OUTPUT")
	if out == "" {
		out = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(out, 0o755))
	report := filepath.Join(out, "mlxreview-report.html")
	_, stderr, code := runReview(t, "--html", report, dir)
	require.Equal(t, 0, code, stderr)

	dom := string(headless(t, bin, "--dump-dom", "file://"+report))
	require.Contains(t, dom, "<h1>MLX security review</h1>")
	for typ := range tr.flagTypes {
		row := regexp.MustCompile(`<tr data-type="` + typ + `">.*?<code class="atlas">(AML\.T\d{4}(\.\d{3})?)</code>`)
		assert.Regexp(t, row, dom, "incident type %s with its ATLAS id", typ)
		assert.Contains(t, dom, `class="incident" data-type="`+typ+`"`, "timeline dot of %s", typ)
	}
	for m := range tr.models {
		assert.Contains(t, dom, `<div class="model" data-model="`+m+`">`)
	}
	assert.Equal(t, len(tr.models), strings.Count(dom, `<polyline class="latency"`), "one latency line per model")
	assert.Greater(t, strings.Count(dom, `<path class="anomaly"`), 0, "anomaly markers on the model charts")
	assert.Contains(t, dom, `<table id="inventory-table">`)
	assert.Contains(t, dom, "(unsafe)")
	assert.Regexp(t, `<table id="callers-table">.*\n<tr><td><code>caller-`, dom)

	shot := filepath.Join(out, "mlxreview-report.png")
	headless(t, bin, "--window-size=1280,2400", "--screenshot="+shot, "file://"+report)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	red, blue := countColor(img, 0xd6, 0x27, 0x28), countColor(img, 0x1f, 0x77, 0xb4)
	assert.Greater(t, red, 50, "anomaly markers and the first incident lane are drawn in red")
	assert.Greater(t, blue, 200, "latency lines are drawn in blue")
	t.Logf("screenshot %s: %d red and %d blue pixels", shot, red, blue)
}

func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	near := func(x uint32, y uint8) bool { d := int(x>>8) - int(y); return d > -12 && d < 12 }
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if near(cr, r) && near(cg, g) && near(cb, b) {
				n++
			}
		}
	}
	return n
}
