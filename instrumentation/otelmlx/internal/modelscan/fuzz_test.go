package modelscan

import (
	"bytes"
	"testing"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
)

// FuzzFile feeds arbitrary files (seeded with every fixture: pickles, legacy checkpoints, npy,
// npz and PyTorch zips) to the container scan: it must not fail on content, must stay within
// its limits, and must grade no lower than what it lists.
func FuzzFile(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.data)
	}
	lim := Limits{MaxEntries: 64, MaxDecompressed: 1 << 20, MaxStreams: 8, Pickle: pickle.Limits{MaxOps: 1 << 14, MaxGlobals: 8}}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := File(bytes.NewReader(data), int64(len(data)), lim)
		if err != nil {
			t.Fatalf("in-memory reader returned an I/O error: %v", err)
		}
		if len(r.Globals) > 8 || r.Streams > 64*8 {
			t.Fatalf("report beyond its bounds: %d globals, %d streams", len(r.Globals), r.Streams)
		}
		for _, g := range r.Globals {
			if g.Severity > r.Severity {
				t.Fatalf("global %s graded %v above the report's %v", g, g.Severity, r.Severity)
			}
		}
	})
}
