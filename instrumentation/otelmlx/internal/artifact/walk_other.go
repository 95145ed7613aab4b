//go:build !linux && !darwin

package artifact

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// walkFiles calls visit for every regular file below root, with its slash-separated path
// relative to root, skipping dot-files and dot-directories. Links are followed, to files and to
// directories; a loop, or anything that is neither a regular file nor a directory, refuses the
// model (see walk_unix.go).
func walkFiles(root string, visit func(rel, abs string, k fileKey) error) error {
	dirs := 0
	var walk func(dir, rel string, ancestors []os.FileInfo) error
	walk = func(dir, rel string, ancestors []os.FileInfo) error {
		dirs++
		if dirs > MaxFiles {
			return fmt.Errorf("model directory holds more than %d directories (counting each link to a directory); point the reference at the model itself", MaxFiles)
		}
		self, err := os.Stat(dir)
		if err != nil {
			return err
		}
		for _, a := range ancestors {
			if os.SameFile(a, self) {
				return fmt.Errorf("model directory has a link loop at %s; remove the link", dir)
			}
		}
		ancestors = append(ancestors, self)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, d := range ents {
			name := d.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			r, abs := name, filepath.Join(dir, name)
			if rel != "" {
				r = rel + "/" + name
			}
			fi, err := os.Stat(abs) // follows links: the digest covers what a loader would read
			if err != nil {
				return err
			}
			switch {
			case fi.IsDir():
				if strings.Count(r, "/") >= MaxDepth {
					return fmt.Errorf("model directory is nested deeper than %d levels at %s", MaxDepth, abs)
				}
				if err := walk(abs, r, ancestors); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				if err := visit(r, abs, keyOf(abs, fi)); err != nil {
					return err
				}
			default:
				return fmt.Errorf("model directory holds %s, which is neither a regular file nor a directory (%s); remove it", abs, fi.Mode().Type())
			}
		}
		return nil
	}
	return walk(root, "", nil)
}
