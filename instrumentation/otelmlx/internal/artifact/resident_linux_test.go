package artifact

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCold(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.bin")
	b := make([]byte, 8<<20)
	rand.Read(b)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	in := NewInspector(8)
	m, err := in.Scan(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(p); err != nil { // every page cached
		t.Fatal(err)
	}
	if in.Cold(m) {
		t.Fatal("a file just read is reported cold")
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Skip(err)
	}
	if r, _ := residentSample(f, int64(len(b)), 16); r > 0 {
		t.Skipf("%s keeps its pages after FADV_DONTNEED (tmpfs?): coldness cannot be made here", dir)
	}
	if !in.Cold(m) {
		t.Fatal("a file evicted from the page cache is not reported cold")
	}
	if _, err := in.Hash(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if in.Cold(m) {
		t.Fatal("hashed files are not read again: nothing to call cold")
	}
}
