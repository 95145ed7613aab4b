//go:build linux || darwin

package artifact

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// walkFiles calls visit for every regular file below root, with its slash-separated path
// relative to root, skipping dot-files and dot-directories. Links are followed, to files and to
// directories, so the digest covers what a loader reads; a link back to a directory being
// walked is a loop and refuses the model, as does anything that is neither a regular file nor a
// directory (a FIFO, a device, a socket, a broken link): a loader could open it, and skipping
// it would leave it out of the digest. Each file is stat'ed relative to its open directory: a
// stat by absolute path makes the kernel walk every element of the path again, which was half
// the digest work of loading an unchanged model of many files.
func walkFiles(root string, visit func(rel, abs string, k fileKey) error) error {
	w := &walker{visit: visit}
	return w.dir(root, "", nil)
}

type dirID struct{ dev, ino uint64 }

type walker struct {
	visit func(rel, abs string, k fileKey) error
	dirs  int // directories entered, links included: bounds a fan-out of links
}

func (w *walker) dir(dir, rel string, ancestors []dirID) error {
	w.dirs++
	if w.dirs > MaxFiles {
		return fmt.Errorf("model directory holds more than %d directories (counting each link to a directory); point the reference at the model itself", MaxFiles)
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	fd := int(f.Fd())
	var self unix.Stat_t
	if err := unix.Fstat(fd, &self); err != nil {
		return &fs.PathError{Op: "stat", Path: dir, Err: err}
	}
	id := dirID{uint64(self.Dev), uint64(self.Ino)}
	for _, a := range ancestors {
		if a == id {
			return fmt.Errorf("model directory has a link loop at %s; remove the link", dir)
		}
	}
	ancestors = append(ancestors, id)
	ents, err := f.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, d := range ents {
		name := d.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		r, abs := name, dir+"/"+name
		if rel != "" {
			r = rel + "/" + name
		}
		var st unix.Stat_t
		if d.IsDir() {
			st.Mode = unix.S_IFDIR
		} else if err := unix.Fstatat(fd, name, &st, 0); err != nil { // follows links
			return &fs.PathError{Op: "stat", Path: abs, Err: err}
		}
		switch uint32(st.Mode) & unix.S_IFMT {
		case unix.S_IFDIR:
			if strings.Count(r, "/") >= MaxDepth {
				return fmt.Errorf("model directory is nested deeper than %d levels at %s", MaxDepth, abs)
			}
			if err := w.dir(abs, r, ancestors); err != nil {
				return err
			}
		case unix.S_IFREG:
			if err := w.visit(r, abs, statKey(abs, &st)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("model directory holds %s, which is neither a regular file nor a directory (%s); remove it", abs, modeOf(uint32(st.Mode)))
		}
	}
	return nil
}

func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}
