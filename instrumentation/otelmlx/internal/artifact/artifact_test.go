package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// npyBytes is a minimal valid .npy file.
func npyBytes(n int) []byte {
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"
	hdr := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), 0)
	return append(append(hdr, dict...), make([]byte, n)...)
}

func TestSingleFileDigestIsFileSHA256(t *testing.T) {
	dir := t.TempDir()
	content := npyBytes(3 << 20) // spans several read chunks
	p := filepath.Join(dir, "weights.bin")
	write(t, p, content)

	in := NewInspector(16)
	m, err := in.Scan(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir || len(m.Files) != 1 || m.Size != int64(len(content)) || m.Format() != sniff.NPY {
		t.Fatalf("unexpected manifest %+v format %s", m, m.Format())
	}
	d, err := in.Hash(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if d != sum(content) {
		t.Fatalf("digest %s, want %s", d, sum(content))
	}
}

func TestDirectoryDigestFollowsContract(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"config.json":             []byte(`{"model_type":"tiny"}`),
		"model-00001.safetensors": npyBytes(10),
		"sub/tokenizer.json":      []byte(`{}`),
	}
	for rel, b := range files {
		write(t, filepath.Join(dir, rel), b)
	}
	write(t, filepath.Join(dir, ".cache", "junk"), []byte("ignored"))
	write(t, filepath.Join(dir, ".DS_Store"), []byte("ignored"))

	in := NewInspector(16)
	m, err := in.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 {
		t.Fatalf("got %d files, want 3 (dot entries skipped): %+v", len(m.Files), m.Files)
	}
	got, err := in.Hash(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, rel := range []string{"config.json", "model-00001.safetensors", "sub/tokenizer.json"} {
		fmt.Fprintf(h, "%s\x00%s\n", rel, sum(files[rel]))
	}
	if want := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("directory digest %s, want %s", got, want)
	}
	if m.Format() != sniff.NPY {
		t.Fatalf("format %s, want npy from the weight file", m.Format())
	}
}

func TestPickleAnywhereMakesModelPickle(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "model.safetensors"), npyBytes(4))
	write(t, filepath.Join(dir, "pytorch_model.bin"), []byte{0x80, 0x02, '}', '.'})
	m, err := NewInspector(4).Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format() != sniff.Pickle || !m.Unsafe() {
		t.Fatalf("format %s unsafe %v, want pickle/unsafe", m.Format(), m.Unsafe())
	}
}

func TestCacheSkipsUnchangedAndNoticesChanges(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.npy")
	write(t, p, npyBytes(64))
	in := NewInspector(16)
	m, _ := in.Scan(p)
	first, err := in.Hash(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}

	again, _ := in.Scan(p)
	if !again.Hashed() || again.Digest() != first {
		t.Fatal("unchanged file was not served from the cache")
	}

	// Rewrite the content in place and restore the old mtime: ctime still changes the key.
	st, _ := os.Stat(p)
	time.Sleep(10 * time.Millisecond)
	changed := npyBytes(64)
	changed[len(changed)-1] = 1
	write(t, p, changed)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	m2, _ := in.Scan(p)
	if m2.Hashed() {
		t.Fatal("rewritten file was served from the cache")
	}
	d2, _ := in.Hash(context.Background(), m2)
	if d2 == first || d2 != sum(changed) {
		t.Fatalf("digest after change %s", d2)
	}
}

func TestCacheIsBounded(t *testing.T) {
	dir := t.TempDir()
	in := NewInspector(3)
	for i := range 10 {
		p := filepath.Join(dir, fmt.Sprintf("f%d", i))
		write(t, p, []byte{byte(i)})
		m, err := in.Scan(p)
		if err != nil {
			t.Fatal(err)
		}
		in.Hash(context.Background(), m)
	}
	if n := in.cache.len(); n != 3 {
		t.Fatalf("cache holds %d entries, want 3", n)
	}
}

func TestScanErrors(t *testing.T) {
	dir := t.TempDir()
	in := NewInspector(4)
	if _, err := in.Scan(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := in.Scan(empty); err == nil {
		t.Fatal("empty directory accepted")
	}
}

func TestSymlinkedFilesAreHashedByContent(t *testing.T) {
	dir := t.TempDir()
	blob := filepath.Join(dir, "blobs", "abc")
	write(t, blob, []byte("weights"))
	snap := filepath.Join(dir, "snap")
	os.MkdirAll(snap, 0o755)
	if err := os.Symlink(blob, filepath.Join(snap, "model.safetensors")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	in := NewInspector(4)
	m, err := in.Scan(snap)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || m.Files[0].Size != 7 {
		t.Fatalf("symlinked file not followed: %+v", m.Files)
	}
	if _, err := in.Hash(context.Background(), m); err != nil || m.Files[0].Digest != sum([]byte("weights")) {
		t.Fatalf("digest %q err %v", m.Files[0].Digest, err)
	}
}

func TestHashHonoursCancel(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big")
	write(t, p, make([]byte, 4<<20))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := HashFile(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// HashFile reads ahead of the hash in chunks; every size around the chunk and pipeline
// boundaries must give the file's SHA-256, and a file that cannot be read an error.
func TestHashFileSizesAroundChunks(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, (pipeDepth+2)*chunk+3)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, pipeDepth * chunk, pipeDepth*chunk + 1, len(data)} {
		p := filepath.Join(dir, fmt.Sprintf("f%d", n))
		write(t, p, data[:n])
		got, err := HashFile(context.Background(), p)
		if err != nil || got != sum(data[:n]) {
			t.Errorf("size %d: digest %s err %v, want %s", n, got, err, sum(data[:n]))
		}
	}
	if _, err := HashFile(context.Background(), dir); err == nil {
		t.Error("hashing a directory: no error")
	}
}

// A cancel during the hash stops it, and the reader goroutine is gone when HashFile returns.
func TestHashFileCancelMidway(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big")
	write(t, p, make([]byte, 64<<20))
	before := runtime.NumGoroutine()
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		if _, err := HashFile(ctx, p); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want nil or context.Canceled", err)
		}
	}
	// The cancel goroutines and the readers have ended or are ending; none may be left over.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after HashFile returned (%d before)", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// Directories nest at most MaxDepth levels.
func TestScanDepth(t *testing.T) {
	dir := t.TempDir()
	deep := dir
	for i := range MaxDepth {
		deep = filepath.Join(deep, fmt.Sprintf("d%d", i))
	}
	write(t, filepath.Join(deep, "w.npy"), npyBytes(4))
	m, err := NewInspector(8).Scan(dir)
	if err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	if len(m.Files) != 1 || strings.Count(m.Files[0].Rel, "/") != MaxDepth {
		t.Fatalf("files %+v, want the one file %d levels down", m.Files, MaxDepth)
	}
	write(t, filepath.Join(deep, "d", "w.npy"), npyBytes(4))
	if _, err := NewInspector(8).Scan(dir); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("%d levels: err %v, want a nesting error", MaxDepth+1, err)
	}
}
