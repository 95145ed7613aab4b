package artifact

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseSequential asks the kernel for a larger read-ahead: a model is read start to end, and
// when MLX reads the same file at the same time the hash should stay ahead on the disk.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}
