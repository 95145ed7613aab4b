//go:build linux || darwin

package artifact

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Files a loader could open but that are not regular files (FIFOs, devices, sockets, broken
// links) refuse the model instead of being skipped.
func TestSpecialFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "w.npy"), npyBytes(4))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.safetensors"), 0o600); err != nil {
		t.Skip(err)
	}
	if _, err := NewInspector(8).Scan(dir); err == nil {
		t.Fatal("a FIFO in the model directory was skipped")
	}
	dir2 := t.TempDir()
	write(t, filepath.Join(dir2, "w.npy"), npyBytes(4))
	os.Symlink("/dev/zero", filepath.Join(dir2, "zero.bin"))
	if _, err := NewInspector(8).Scan(dir2); err == nil {
		t.Fatal("a link to a device in the model directory was skipped")
	}
	dir3 := t.TempDir()
	write(t, filepath.Join(dir3, "w.npy"), npyBytes(4))
	os.Symlink(filepath.Join(dir3, "gone"), filepath.Join(dir3, "broken.safetensors"))
	if _, err := NewInspector(8).Scan(dir3); err == nil {
		t.Fatal("a broken link in the model directory was skipped")
	}
}
