//go:build linux || darwin

package artifact

import (
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// walkFiles calls visit for every regular file below root (following links to files, not to
// directories; skipping dot-files and dot-directories), with its slash-separated path relative
// to root. Each file is stat'ed relative to its open directory: a stat by absolute path makes
// the kernel walk every element of the path again, which was half the digest work of loading an
// unchanged model of many files.
func walkFiles(root string, visit func(rel, abs string, k fileKey) error) error {
	return walkDirAt(root, "", visit)
}

func walkDirAt(dir, rel string, visit func(rel, abs string, k fileKey) error) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return err
	}
	fd := int(f.Fd())
	for _, d := range ents {
		name := d.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		r, abs := name, dir+"/"+name
		if rel != "" {
			r = rel + "/" + name
		}
		if d.IsDir() {
			if strings.Count(r, "/") >= MaxDepth {
				return fmt.Errorf("model directory is nested deeper than %d levels at %s", MaxDepth, abs)
			}
			if err := walkDirAt(abs, r, visit); err != nil {
				return err
			}
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, 0); err != nil { // follows links: the digest covers what a loader would read
			return &fs.PathError{Op: "stat", Path: abs, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		if err := visit(r, abs, statKey(abs, &st)); err != nil {
			return err
		}
	}
	return nil
}
