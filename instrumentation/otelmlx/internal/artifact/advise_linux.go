package artifact

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseSequential asks the kernel for a larger read-ahead: a model is read start to end, and
// when MLX reads the same file at the same time the hash should stay ahead on the disk.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}

// residentSample reports how many of the sampled pages of a file of size bytes are in the page
// cache, out of how many sampled: the file is mapped (nothing is read) and mincore asks the
// kernel about one page at each of samples offsets spread over it.
func residentSample(f *os.File, size int64, samples int) (resident, sampled int) {
	if size <= 0 || size != int64(int(size)) {
		return 0, 0
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, 0
	}
	defer unix.Munmap(data)
	page := int64(os.Getpagesize())
	var vec [1]byte
	for k := range samples {
		off := size * int64(k) / int64(samples) / page * page
		// x/sys has no mincore wrapper for Linux; the call only reads the mapping's state.
		n := min(off+page, size) - off
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&data[off])), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			return 0, 0
		}
		sampled++
		resident += int(vec[0] & 1)
	}
	return resident, sampled
}
