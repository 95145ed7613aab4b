package artifact

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
)

// The digest and the scan verdict, found at different steps of a load, share one cache entry:
// hashing after scanning keeps the verdict, and the next manifest gets both without a read.
func TestPickleScanKeptWithDigest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "evil.pkl")
	if err := os.WriteFile(p, []byte("\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94."), 0o644); err != nil {
		t.Fatal(err)
	}
	in := NewInspector(16)
	m, err := in.Scan(p)
	if err != nil {
		t.Fatal(err)
	}
	first, err := in.PickleScan(m, 0)
	if err != nil || first.Severity != pickle.SeverityCritical {
		t.Fatalf("%v %+v", err, first)
	}
	if _, err := in.Hash(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m2, err := in.Scan(p)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.Hashed() {
		t.Error("digest lost from the cache")
	}
	again, err := in.PickleScan(m2, 0)
	if err != nil || again != first || in.PickleScans() != 1 {
		t.Fatalf("second scan: %v, same report %v, %d scans", err, again == first, in.PickleScans())
	}
}

func TestVerdictOfContent(t *testing.T) {
	for _, c := range []struct {
		err  error
		keep bool
	}{
		{nil, true},
		{&pickle.Error{Err: pickle.ErrMalformed}, true},
		{fmt.Errorf("archive/data.pkl: %w", &pickle.Error{Err: pickle.ErrTruncated}), true},
		{&pickle.Error{Err: pickle.ErrLimit}, true},
		{&pickle.Error{Err: errors.New("read /x: input/output error")}, false},
		{errors.New("zip: not a valid zip file"), false},
	} {
		if got := verdictOfContent(c.err); got != c.keep {
			t.Errorf("verdictOfContent(%v) = %v, want %v", c.err, got, c.keep)
		}
	}
}
