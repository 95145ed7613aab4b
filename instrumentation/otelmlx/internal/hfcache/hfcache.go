// Package hfcache recognises a model read from the local Hugging Face hub cache and what the
// cache says its files should hash to.
//
// The cache (huggingface_hub's layout, also used by mlx_lm) keeps each repository in
// <cache>/models--<org>--<repo>/ with the file contents in blobs/ and one directory per commit
// in snapshots/<revision>/, whose files are links into blobs/. A large file's blob is named by
// its Git LFS object id, which is the SHA-256 of its content: a file whose computed SHA-256
// differs from the name of the blob it links to was changed after download. Small files kept
// in git proper are named by their git blob id (SHA-1 of a header and the content) and are not
// compared.
package hfcache

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Snapshot is a model path inside a hub cache snapshot.
type Snapshot struct {
	// RepoID is "org/repo" (or "repo" for repositories without an organisation).
	RepoID string
	// Revision is the snapshot directory name: the commit hash the files were downloaded at.
	Revision string
	// RepoDir is the cache directory of the repository (models--org--repo).
	RepoDir string
	// Blobs maps a model file, relative to the model path as artifact names it (slash-separated;
	// the base name when the model is one file), to the SHA-256 of the LFS blob it links to.
	// Files that are not links to a SHA-256-named blob are absent.
	Blobs map[string]string
}

// Source is the model's source URI: hf://org/repo@revision.
func (s *Snapshot) Source() string { return "hf://" + s.RepoID + "@" + s.Revision }

// maxFiles bounds the entries read for one model (artifact bounds the model the same way). A
// variable only so that a test can lower it.
var maxFiles = 10_000

// Detect reports whether path (as the caller gave it, before links are resolved: resolving a
// snapshot file leads into blobs/ and loses the revision) lies in a snapshot of a model
// repository of a hub cache, and reads the blob each of its files links to. It returns nil
// when path is not in such a layout. Errors come from reading the directory.
func Detect(path string) (*Snapshot, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(filepath.ToSlash(abs), "/")
	for i := len(parts) - 3; i >= 0; i-- {
		if !strings.HasPrefix(parts[i], "models--") || parts[i+1] != "snapshots" {
			continue
		}
		id := strings.TrimPrefix(parts[i], "models--")
		org, repo, hasOrg := strings.Cut(id, "--")
		if !hasOrg {
			org, repo = "", id
		}
		if (hasOrg && !repoName(org)) || !repoName(repo) || !safeName(parts[i+2]) {
			return nil, nil
		}
		repoID := id
		if hasOrg {
			repoID = org + "/" + repo
		}
		s := &Snapshot{
			RepoID:   repoID,
			Revision: parts[i+2],
			RepoDir:  filepath.FromSlash(strings.Join(parts[:i+1], "/")),
			Blobs:    map[string]string{},
		}
		return s, s.readLinks(abs)
	}
	return nil, nil
}

// safeName accepts a revision directory name: what huggingface_hub writes (a commit hash), or a
// plain name without separators or dot segments.
func safeName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// repoName accepts an organisation or repository name as the Hub does (huggingface_hub's
// validate_repo_id): letters, digits, '-', '_' and '.', at most 96, not starting or ending with
// '-' or '.', without "--" (the cache's separator) or "..". Only such names make a source URI.
func repoName(s string) bool {
	if s == "" || len(s) > 96 || strings.Contains(s, "--") || strings.Contains(s, "..") ||
		strings.HasPrefix(s, "-") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, "-") || strings.HasSuffix(s, ".") {
		return false
	}
	return safeName(s)
}

// readLinks records the blob of each file under the model path.
func (s *Snapshot) readLinks(abs string) error {
	fi, err := os.Lstat(abs)
	if err != nil {
		return err
	}
	root := abs
	if fi.Mode()&os.ModeSymlink != 0 {
		// The model is one file, or a link that leads nowhere (the load will fail; what it
		// names is still recorded).
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			s.link(abs, filepath.Base(abs))
			return nil
		}
		// A link to a directory: WalkDir does not follow its root, but a root ending in a
		// separator is the directory the link leads to.
		root += string(filepath.Separator)
	} else if !fi.IsDir() {
		return nil
	}
	n := 0
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxFiles {
			return filepath.SkipAll
		}
		if d.Type()&os.ModeSymlink == 0 {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return nil
		}
		s.link(p, filepath.ToSlash(rel))
		return nil
	})
}

// link records the blob a snapshot file's link names: a SHA-256-named entry of this
// repository's blobs/ directory, read from the link's text (relative to the link's directory,
// as huggingface_hub writes it). Where the link really leads is deliberately not asked: what
// the loader reads through it is hashed and compared with that name whatever it is, so a blob
// replaced by a link to other content, or a path through a directory link elsewhere, is a
// mismatch rather than a file left unchecked.
func (s *Snapshot) link(p, rel string) {
	target, err := os.Readlink(p)
	if err != nil {
		return
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	target = filepath.Clean(target)
	if name := filepath.Base(target); isSHA256(name) && filepath.Dir(target) == filepath.Join(s.RepoDir, "blobs") {
		s.Blobs[rel] = name
	}
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Mismatch is a file whose content does not hash to the blob it links to.
type Mismatch struct {
	Rel      string
	Expected string // the blob name (LFS oid)
	Actual   string // the computed SHA-256
}

// Check compares computed digests (relative path -> hex SHA-256, as artifact lists the model's
// files) with the blob names and returns the files that differ. Files without a digest are
// skipped.
func (s *Snapshot) Check(digests map[string]string) []Mismatch {
	var out []Mismatch
	for rel, want := range s.Blobs {
		got, ok := digests[rel]
		if ok && got != "" && got != want {
			out = append(out, Mismatch{Rel: rel, Expected: want, Actual: got})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out
}
