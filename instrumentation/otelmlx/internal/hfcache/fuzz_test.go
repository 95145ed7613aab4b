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
	f.Fuzz(func(t *testing.T, org, repo, rev, name, target string, mode uint8) {
		root := t.TempDir()
		dirName := "models--" + repo
		if org != "" {
			dirName = "models--" + org + "--" + repo
		}
		repoDir := filepath.Join(root, "hub", dirName)
		snap := filepath.Join(repoDir, "snapshots", rev)
		link := filepath.Join(snap, name)
		if !filepath.IsLocal(dirName) || !filepath.IsLocal(rev) || !filepath.IsLocal(name) || len(link) > 1024 ||
			os.MkdirAll(filepath.Dir(link), 0o755) != nil {
			return // not a path this file system can hold
		}
		// Blobs: where blobs/ really is, and what is there.
		blobs := filepath.Join(repoDir, "blobs")
		if mode&modeBlobsLinked != 0 {
			blobs = filepath.Join(root, "moved-blobs")
			must(t, os.MkdirAll(blobs, 0o755))
			if os.Symlink(blobs, filepath.Join(repoDir, "blobs")) != nil {
				return
			}
		}
		must(t, os.MkdirAll(blobs, 0o755))
		must(t, os.WriteFile(filepath.Join(blobs, good), []byte("w"), 0o644))
		must(t, os.Symlink(good, filepath.Join(blobs, strings.Repeat("cd", 32))))
		must(t, os.WriteFile(filepath.Join(blobs, strings.ToUpper(good)), []byte("w"), 0o644))
		must(t, os.MkdirAll(filepath.Join(blobs, strings.Repeat("ef", 32)), 0o755))
		// A same-named blob elsewhere, and a link inside the repository leading there.
		elsewhere := filepath.Join(root, "x", "y")
		must(t, os.MkdirAll(elsewhere, 0o755))
		must(t, os.MkdirAll(filepath.Join(root, "x", "blobs"), 0o755))
		must(t, os.WriteFile(filepath.Join(root, "x", "blobs", good), []byte("poisoned"), 0o644))
		must(t, os.Symlink(elsewhere, filepath.Join(repoDir, "evil")))
		if os.Symlink(target, link) != nil {
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
		realBlob, err := os.Lstat(filepath.Join(blobs, good))
		must(t, err)
		for rel, sha := range s.Blobs {
			p := filepath.Join(model, filepath.FromSlash(rel))
			if mode&modeFile != 0 {
				p = model
			}
			fi, err := os.Stat(p)
			if !sha256Re.MatchString(sha) || err != nil || sha != good || !os.SameFile(fi, realBlob) {
				t.Fatalf("blob %s recorded for %q (-> %q): not the repository's blob of that name", sha, rel, target)
			}
		}
	})
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
