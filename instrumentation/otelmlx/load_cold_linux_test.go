package otelmlx

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A model read from a cold page cache is hashed before its loader runs (then loaded from
// memory), so a pinned digest that differs is refused without running the loader at all.
func TestColdModelIsHashedBeforeLoad(t *testing.T) {
	const n = 1 << 20 // 4 MiB of float32
	hdr, _ := json.Marshal(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{n}, "data_offsets": []int{0, 4 * n}}})
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.Write(hdr)
	b.Write(bytes.Repeat([]byte{1, 2, 3, 4}, n))
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	evict := func() {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.Sync()
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			t.Skip(err)
		}
	}
	evict()
	h := newHarness(t, WithPolicy(&Policy{Mode: Enforce, PinnedDigests: map[string]string{"m": strings.Repeat("ab", 32)}}))
	if m, err := h.in.inspect.Scan(path); err != nil {
		t.Fatal(err)
	} else if !h.in.inspect.Cold(m) {
		t.Skipf("%s keeps its pages after FADV_DONTNEED (tmpfs?): no cold load can be made here", filepath.Dir(path))
	}
	evict()
	called := false
	_, _, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: path}, func(context.Context) (*model, error) {
		called = true
		return &model{}, nil
	})
	var ie *IntegrityError
	if !errors.As(err, &ie) {
		t.Fatalf("err %v, want an *IntegrityError", err)
	}
	if called {
		t.Fatal("the loader ran although the cold model was hashed first and differs from its pin")
	}
}
