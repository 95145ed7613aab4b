//go:build mlx && linux

package mlxc

import (
	"os"

	"golang.org/x/sys/unix"
)

// evictPageCache drops the file's clean pages from the page cache, so the next read comes from
// the disk as it does when a service starts. It needs no privileges.
func evictPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
