package artifact

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

func sysIdentity(fi fs.FileInfo) (dev, ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino, st.Ctimespec.Nano()
	}
	return 0, 0, 0
}

func statKey(path string, st *unix.Stat_t) fileKey {
	return fileKey{path: path, dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}
