package hfcache

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// The Hub's rule for a name (huggingface_hub validate_repo_id), written out separately from
	// repoName so that the fuzz target checks one against the other.
	hubName  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,96}$`)
	revName  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func validHubName(s string) bool {
	return hubName.MatchString(s) && !strings.Contains(s, "--") && !strings.Contains(s, "..") &&
		strings.Trim(s[:1]+s[len(s)-1:], "-.") == s[:1]+s[len(s)-1:]
}

// Layout variants of FuzzDetect, as bits of its mode argument.
const (
	modeFile        = 1 << iota // Detect the link itself, not the snapshot directory
	modeBlobsLinked             // blobs/ is a link to a directory elsewhere (a moved cache)
	modeLoop                    // two links to each other beside the fuzzed one
	modeDangling                // a link to a blob that does not exist
)

// FuzzDetect builds a hub cache repository from fuzzed organisation, repository and revision
// names and one snapshot link (its path and target text), beside blobs that are and are not what
// the link may claim: a blob named by its SHA-256, a SHA-256-named link to it, an upper-case
// name, a directory with a SHA-256 name, and a same-named blob outside the repository reached
// through a link inside it. Properties: no panic; a snapshot only for names the Hub allows, with
// the source built from them; a blob recorded only for a link that resolves to that regular
// file of this repository's blobs/ under its 64-hex name.
func FuzzDetect(f *testing.F) {
	good := strings.Repeat("ab", 32)
	f.Add("mlx-community", "tiny-lm", "0123456789abcdef0123456789abcdef01234567", "model.safetensors", "../../blobs/"+good, uint8(0))
	f.Add("org", "repo", "main", "sub/w.safetensors", "../../../blobs/"+good, uint8(modeFile|modeBlobsLinked))
	f.Add("", "gpt2", "r", "w", "../../evil/../blobs/"+good, uint8(modeLoop|modeDangling))
	f.Add("org", "repo", "r", "w", "../../blobs/"+strings.Repeat("cd", 32), uint8(0))      // a link in blobs/
	f.Add("org", "repo", "r", "w", "../../blobs/"+strings.ToUpper(good), uint8(0))         // upper case
	f.Add("org", "repo", "r", "w", "../../blobs/"+strings.Repeat("ef", 32), uint8(0))      // a directory
	f.Add("org", "repo", "r", "w", "/../blobs/"+good, uint8(modeFile))                     // absolute
	f.Add("..", "repo", "r", "w", "../../blobs/"+good, uint8(0))                           // dot names
	f.Add("org", "re\npo", "r\x00", "w", "../../blobs/"+good, uint8(0))                    // control characters
	f.Add("a", "b--c", "..", "loop-a", "loop-b", uint8(modeLoop))                          // separators
	f.Add("org.", "-repo", "r", "../../blobs/x", "../../blobs/"+good, uint8(0))            // edges, name escaping
	f.Add(strings.Repeat("o", 97), "repo", "r", "w", "../../blobs/"+good, uint8(modeFile)) // too long
	// Blobs and decoys are built once per repository directory and kept across inputs (file
	// system calls are most of an input's cost); the snapshot is built for each input and removed.
	base := f.TempDir()
	builds := 0
	f.Fuzz(func(t *testing.T, org, repo, rev, name, target string, mode uint8) {
		root := filepath.Join(base, "plain")
		if mode&modeBlobsLinked != 0 {
			root = filepath.Join(base, "linked")
		}
		dirName := "models--" + repo
		if org != "" {
			dirName = "models--" + org + "--" + repo
		}
		repoDir := filepath.Join(root, "hub", dirName)
		snap := filepath.Join(repoDir, "snapshots", rev)
		link := filepath.Join(snap, name)
		if !filepath.IsLocal(dirName) || !filepath.IsLocal(rev) || !filepath.IsLocal(name) || len(link) > 1024 {
			return // not a path this file system can hold
		}
		// Blobs: where blobs/ really is, and what is there.
		blobs := filepath.Join(repoDir, "blobs")
		if mode&modeBlobsLinked != 0 {
			blobs = filepath.Join(root, "moved-blobs")
		}
		if _, err := os.Lstat(filepath.Join(repoDir, "evil")); err != nil {
			if builds++; builds > 512 { // keep the disk use bounded
				must(t, os.RemoveAll(filepath.Join(base, "plain")))
				must(t, os.RemoveAll(filepath.Join(base, "linked")))
				builds = 0
			}
			if !buildRepo(root, repoDir, blobs, good) {
				return
			}
		}
		defer os.RemoveAll(filepath.Join(repoDir, "snapshots"))
		if os.MkdirAll(filepath.Dir(link), 0o755) != nil || os.Symlink(target, link) != nil {
			return
		}
		if mode&modeLoop != 0 {
			os.Symlink("loop-b", filepath.Join(snap, "loop-a"))
			os.Symlink("loop-a", filepath.Join(snap, "loop-b"))
		}
		if mode&modeDangling != 0 {
			os.Symlink("../../blobs/"+strings.Repeat("01", 32), filepath.Join(snap, "dangling"))
		}
		model := snap
		if mode&modeFile != 0 {
			model = link
		}

		s, err := Detect(model)
		if s == nil {
			return
		}
		_ = err // reading a layout with loops may fail; what was recorded must still hold
		parts := strings.Split(s.RepoID, "/")
		if len(parts) > 2 || !validHubName(parts[0]) || !validHubName(parts[len(parts)-1]) ||
			!revName.MatchString(s.Revision) || s.Revision == "." || s.Revision == ".." {
			t.Fatalf("snapshot from unsafe names: %q %q", s.RepoID, s.Revision)
		}
		if s.Source() != "hf://"+s.RepoID+"@"+s.Revision {
			t.Fatalf("source %q", s.Source())
		}
		if len(s.Blobs) > maxFiles {
			t.Fatalf("%d blobs", len(s.Blobs))
		}
		// A blob is recorded exactly for the links whose text names an entry of this
		// repository's blobs/ by a SHA-256, whatever is there (a decoy, a link elsewhere, a
		// directory): the loader's reads through the link are compared with that name, so no
		// such link may be left out, and no other may be put in.
		named := func(p string) (string, bool) {
			t, err := os.Readlink(p)
			if err != nil {
				return "", false
			}
			if !filepath.IsAbs(t) {
				t = filepath.Join(filepath.Dir(p), t)
			}
			t = filepath.Clean(t)
			return filepath.Base(t), sha256Re.MatchString(filepath.Base(t)) && filepath.Dir(t) == filepath.Join(s.RepoDir, "blobs")
		}
		for rel, sha := range s.Blobs {
			p := filepath.Join(model, filepath.FromSlash(rel))
			if mode&modeFile != 0 {
				p = model
			}
			if want, ok := named(p); !ok || sha != want {
				t.Fatalf("blob %s recorded for %q (-> %q): its link does not name it in this repository's blobs/", sha, rel, target)
			}
		}
		rel := filepath.ToSlash(name)
		if mode&modeFile != 0 {
			rel = filepath.Base(link)
		}
		st, serr := os.Stat(link)
		if mode&modeFile != 0 && serr == nil && st.IsDir() {
			rel = "" // the model is the directory the link leads to: its files are checked
		}
		if want, ok := named(link); ok && err == nil && rel != "" && s.Blobs[rel] != want {
			t.Fatalf("link %q -> %q names blob %s, recorded %q", rel, target, want, s.Blobs[rel])
		}
	})
}

// buildRepo lays out what FuzzDetect's links may lead to: in blobs (repoDir/blobs, or a
// directory it links to) the blob good, a SHA-256-named link to it, an upper-case name and a
// SHA-256-named directory; outside the repository a blob named good with other content, and a
// link "evil" in the repository leading beside it. It reports false for a repository
// directory the file system cannot hold.
func buildRepo(root, repoDir, blobs, good string) bool {
	if os.MkdirAll(repoDir, 0o755) != nil {
		return false
	}
	if blobs != filepath.Join(repoDir, "blobs") && os.Symlink(blobs, filepath.Join(repoDir, "blobs")) != nil {
		return false
	}
	elsewhere := filepath.Join(root, "x", "y")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(blobs, strings.Repeat("ef", 32)), 0o755),
		os.WriteFile(filepath.Join(blobs, good), []byte("w"), 0o644),
		os.WriteFile(filepath.Join(blobs, strings.ToUpper(good)), []byte("w"), 0o644),
		os.MkdirAll(elsewhere, 0o755),
		os.MkdirAll(filepath.Join(root, "x", "blobs"), 0o755),
		os.WriteFile(filepath.Join(root, "x", "blobs", good), []byte("poisoned"), 0o644),
	} {
		if err != nil {
			return false
		}
	}
	for _, l := range [][2]string{{good, filepath.Join(blobs, strings.Repeat("cd", 32))}, {elsewhere, filepath.Join(repoDir, "evil")}} {
		if err := os.Symlink(l[0], l[1]); err != nil && !os.IsExist(err) {
			return false
		}
	}
	return true
}

// TestDetectBounded: a snapshot of more entries than a model may have is read up to the bound.
func TestDetectBounded(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "models--org--repo")
	snap := filepath.Join(repo, "snapshots", rev)
	must(t, os.MkdirAll(snap, 0o755))
	must(t, os.MkdirAll(filepath.Join(repo, "blobs"), 0o755))
	blob := strings.Repeat("ab", 32)
	must(t, os.WriteFile(filepath.Join(repo, "blobs", blob), nil, 0o644))
	defer func(n int) { maxFiles = n }(maxFiles)
	maxFiles = 50
	for i := 0; i < 2*maxFiles; i++ {
		must(t, os.Symlink("../../blobs/"+blob, filepath.Join(snap, fmt.Sprintf("f%06d", i))))
	}
	s, err := Detect(snap)
	if err != nil || s == nil || len(s.Blobs) < maxFiles/2 || len(s.Blobs) > maxFiles {
		t.Fatalf("%v, %d blobs", err, len(s.Blobs))
	}
}
