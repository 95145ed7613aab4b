package hfcache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// cache builds a hub cache repository the way huggingface_hub lays it out: contents in blobs/,
// named by SHA-256 (LFS files) or a 40-hex git blob id (small files), and relative links to
// them from snapshots/<revision>/.
func cache(t *testing.T, repoDir, rev string, files map[string][]byte, lfs map[string]bool) string {
	t.Helper()
	blobs := filepath.Join(repoDir, "blobs")
	snap := filepath.Join(repoDir, "snapshots", rev)
	for rel, data := range files {
		name := sum(data)
		if !lfs[rel] {
			name = name[:40] // stands for a git blob id: not a SHA-256, never compared
		}
		must(t, os.MkdirAll(blobs, 0o755))
		must(t, os.WriteFile(filepath.Join(blobs, name), data, 0o644))
		link := filepath.Join(snap, filepath.FromSlash(rel))
		must(t, os.MkdirAll(filepath.Dir(link), 0o755))
		target, err := filepath.Rel(filepath.Dir(link), filepath.Join(blobs, name))
		must(t, err)
		must(t, os.Symlink(target, link))
	}
	must(t, os.MkdirAll(filepath.Join(repoDir, "refs"), 0o755))
	must(t, os.WriteFile(filepath.Join(repoDir, "refs", "main"), []byte(rev), 0o644))
	return snap
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const rev = "0123456789abcdef0123456789abcdef01234567"

func TestDetect(t *testing.T) {
	root := t.TempDir()
	weights := []byte("weights of shard one")
	shard2 := []byte("weights of shard two")
	snap := cache(t, filepath.Join(root, "hub", "models--mlx-community--tiny-lm"), rev, map[string][]byte{
		"model-00001.safetensors":     weights,
		"sub/model-00002.safetensors": shard2,
		"config.json":                 []byte(`{}`),
	}, map[string]bool{"model-00001.safetensors": true, "sub/model-00002.safetensors": true})

	s, err := Detect(snap)
	if err != nil || s == nil {
		t.Fatalf("Detect(snapshot dir) = %v, %v", s, err)
	}
	if s.Source() != "hf://mlx-community/tiny-lm@"+rev {
		t.Errorf("Source() = %q", s.Source())
	}
	if len(s.Blobs) != 2 || s.Blobs["model-00001.safetensors"] != sum(weights) || s.Blobs["sub/model-00002.safetensors"] != sum(shard2) {
		t.Errorf("Blobs = %v", s.Blobs)
	}
	digests := map[string]string{"model-00001.safetensors": sum(weights), "sub/model-00002.safetensors": sum(shard2), "config.json": sum([]byte("other"))}
	if m := s.Check(digests); len(m) != 0 {
		t.Errorf("unchanged cache: mismatches %v", m)
	}
	// A blob changed after download (what an attacker with write access to the cache does).
	digests["sub/model-00002.safetensors"] = sum([]byte("poisoned"))
	m := s.Check(digests)
	if len(m) != 1 || m[0].Rel != "sub/model-00002.safetensors" || m[0].Expected != sum(shard2) || m[0].Actual != sum([]byte("poisoned")) {
		t.Errorf("changed blob: %v", m)
	}

	// One file of the snapshot: named by its base name, as artifact names a one-file model.
	s, err = Detect(filepath.Join(snap, "model-00001.safetensors"))
	if err != nil || s == nil || s.Blobs["model-00001.safetensors"] != sum(weights) || len(s.Blobs) != 1 {
		t.Fatalf("Detect(file) = %+v, %v", s, err)
	}

	// A repository without an organisation.
	snap = cache(t, filepath.Join(root, "hub", "models--gpt2"), rev, map[string][]byte{"m.safetensors": weights}, map[string]bool{"m.safetensors": true})
	if s, err := Detect(snap); err != nil || s == nil || s.Source() != "hf://gpt2@"+rev {
		t.Fatalf("Detect(no org) = %+v, %v", s, err)
	}
}

func TestNotACache(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		filepath.Join(root, "plain", "model"),
		filepath.Join(root, "models--a--b", "blobs", "x"),
		filepath.Join(root, "models----b", "snapshots", rev),
		filepath.Join(root, "models--a--b--c", "snapshots", rev),
		filepath.Join(root, "models--a--b", "snapshots", "bad rev"),
	} {
		must(t, os.MkdirAll(p, 0o755))
		if s, err := Detect(p); s != nil || err != nil {
			t.Errorf("Detect(%s) = %+v, %v; want nil", p, s, err)
		}
	}
}

func TestLinksOutsideBlobsAreNotTrusted(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "models--org--repo")
	snap := filepath.Join(repo, "snapshots", rev)
	must(t, os.MkdirAll(snap, 0o755))
	other := filepath.Join(root, "elsewhere", sum([]byte("x")))
	must(t, os.MkdirAll(filepath.Dir(other), 0o755))
	must(t, os.WriteFile(other, []byte("x"), 0o644))
	must(t, os.Symlink(other, filepath.Join(snap, "w.safetensors")))
	s, err := Detect(snap)
	if err != nil || s == nil || len(s.Blobs) != 0 {
		t.Fatalf("link outside blobs/: %+v, %v", s, err)
	}
}

// TestBlobReplacedByLinkIsChecked: an attacker who swaps a blob for a link to other content (or
// reroutes the path through a directory link) must not take the file out of the check: the
// snapshot link still names the blob, so the content read through it is compared with that name
// and differs.
func TestBlobReplacedByLinkIsChecked(t *testing.T) {
	root := t.TempDir()
	weights := []byte("the weights the Hub served")
	repoDir := filepath.Join(root, "hub", "models--org--repo")
	snap := cache(t, repoDir, rev, map[string][]byte{"model.safetensors": weights}, map[string]bool{"model.safetensors": true})
	evil := filepath.Join(root, "evil.safetensors")
	must(t, os.WriteFile(evil, []byte("poisoned weights"), 0o644))
	blob := filepath.Join(repoDir, "blobs", sum(weights))
	must(t, os.Remove(blob))
	must(t, os.Symlink(evil, blob))

	for _, model := range []string{snap, filepath.Join(snap, "model.safetensors")} {
		s, err := Detect(model)
		if err != nil || s == nil || s.Blobs["model.safetensors"] != sum(weights) {
			t.Fatalf("Detect(%s) = %+v, %v: the link to the swapped blob is not recorded", model, s, err)
		}
		got, err := os.ReadFile(filepath.Join(snap, "model.safetensors")) // what a loader reads
		must(t, err)
		m := s.Check(map[string]string{"model.safetensors": sum(got)})
		if len(m) != 1 || m[0].Expected != sum(weights) || m[0].Actual != sum(got) {
			t.Fatalf("Check = %+v, want the swapped content reported", m)
		}
	}
}
