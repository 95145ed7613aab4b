//go:build !linux && !darwin

package artifact

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// walkFiles calls visit for every regular file below root (following links to files, not to
// directories; skipping dot-files and dot-directories), with its slash-separated path relative
// to root.
func walkFiles(root string, visit func(rel, abs string, k fileKey) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if strings.Count(rel, "/") >= MaxDepth {
				return fmt.Errorf("model directory is nested deeper than %d levels at %s", MaxDepth, p)
			}
			return nil
		}
		fi, err := os.Stat(p) // follows links: the digest covers what a loader would read
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		return visit(rel, p, keyOf(p, fi))
	})
}
