package modelsource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	dir := t.TempDir()
	modelDir := filepath.Join(dir, "tiny")
	os.Mkdir(modelDir, 0o755)
	cwd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(cwd)
	realDir, _ := filepath.EvalSymlinks(modelDir)

	tests := []struct {
		ref, uri string
		kind     Kind
		remote   bool
	}{
		{modelDir, "file://" + realDir, Local, false},
		{"file://" + modelDir, "file://" + realDir, Local, false},
		{"tiny", "file://" + realDir, Local, false},
		{"mlx-community/Llama-3.2-1B-Instruct-4bit", "hf://mlx-community/Llama-3.2-1B-Instruct-4bit", HF, true},
		{"hf://mlx-community/phi-2@a1b2c3", "hf://mlx-community/phi-2@a1b2c3", HF, true},
		{"https://models.example.com/m.safetensors", "https://models.example.com/m.safetensors", HTTPS, true},
		{"https://user:secret@host/m.gguf", "https://REDACTED@host/m.gguf", HTTPS, true},
		// The '@' forgotten: url.Parse reads "user:secret" as a host and a port.
		{"https://user:secret/m.gguf", "https://REDACTED", HTTPS, true},
		{"https://[::1]:8080/m.gguf", "https://[::1]:8080/m.gguf", HTTPS, true},
		{"https://host:8443/m.gguf", "https://host:8443/m.gguf", HTTPS, true},
		{"https://bucket.s3.amazonaws.com/m?X-Amz-Signature=abc&x=1", "https://bucket.s3.amazonaws.com/m?X-Amz-Signature=REDACTED&x=1", HTTPS, true},
		{"s3://bucket/models/m.safetensors", "s3://bucket/models/m.safetensors", S3, true},
		{"http://insecure/m", "http://insecure/m", Other, true},
		{"./not-there/model", "file://" + filepath.Join(realDir[:len(realDir)-len("/tiny")], "not-there/model"), Local, false},
		{"", "", Other, false},
	}
	for _, tt := range tests {
		got := Classify(tt.ref)
		if got.URI != tt.uri || got.Kind != tt.kind || got.Remote != tt.remote {
			t.Errorf("Classify(%q) = %+v, want uri %q kind %q remote %v", tt.ref, got, tt.uri, tt.kind, tt.remote)
		}
	}
}

func TestClassifyResolvesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "outside", "evil.safetensors")
	os.MkdirAll(filepath.Dir(target), 0o755)
	os.WriteFile(target, []byte("x"), 0o644)
	link := filepath.Join(dir, "models", "good.safetensors")
	os.MkdirAll(filepath.Dir(link), 0o755)
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	got := Classify(link)
	if !strings.HasSuffix(got.URI, "/outside/evil.safetensors") {
		t.Fatalf("link not resolved: %s", got.URI)
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/srv/m", "file:///x", "hf://a/b@c", "org/repo", "https://u:p@h/p?sig=1", "s3://b/k", "::", "\x00",
		"hf://a/%2e%2e/b", "https://h/a/../b", "https://u:hunter2%@h/p", "a/b@../../c", "https://h/a?password=hunter2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		s := Classify(ref)
		switch s.Kind {
		case Local, HF, HTTPS, S3, Other:
		default:
			t.Fatalf("kind %q outside the contract", s.Kind)
		}
		if s.Kind == Local && !strings.HasPrefix(s.URI, "file:///") {
			t.Fatalf("local source %q has URI %q", ref, s.URI)
		}
		// A password sits in the authority (between "://" and the path, query or fragment): user
		// info, or what url.Parse would take for a port when the '@' is forgotten. The same
		// characters in a path are a path.
		if tr := strings.TrimSpace(ref); uriPrefix.MatchString(tr) {
			auth := tr[strings.Index(tr, "://")+3:]
			if i := strings.IndexAny(auth, "/?#"); i >= 0 {
				auth = auth[:i]
			}
			if strings.Contains(auth, ":hunter2") && strings.Contains(s.URI, "hunter2") {
				t.Fatalf("password kept in %q", s.URI)
			}
		}
		if s.Err != nil && strings.Contains(s.Err.Error(), "hunter2") {
			t.Fatalf("password in the error %v", s.Err)
		}
		if s.Remote && s.Err == nil {
			// A normalised remote URI has no dot segments left for an allowlist to trip on.
			rest := s.URI[strings.Index(s.URI, "://")+3:]
			rest, _, _ = strings.Cut(rest, "?")
			for _, seg := range strings.Split(rest, "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("Classify(%q) = %q keeps a dot segment", ref, s.URI)
				}
			}
		}
	})
}
