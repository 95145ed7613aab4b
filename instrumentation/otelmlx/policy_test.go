package otelmlx

import (
	"strings"
	"testing"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

func TestLoadPolicyFile(t *testing.T) {
	p, err := LoadPolicyFile("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != Enforce || len(p.AllowedSources) != 2 || p.PinnedDigests["tiny-lm"] == "" || p.DenyMalformed == nil || !*p.DenyMalformed {
		t.Fatalf("policy %+v", p)
	}
	if r := p.checkSource("file:///srv/models/tiny/model.safetensors"); r != "" {
		t.Errorf("store path denied by %s", r)
	}
	if r := p.checkSource("hf://mlx-community/phi-2"); r != "" {
		t.Errorf("hub org denied by %s", r)
	}
	if r := p.checkSource("hf://evil-community/phi-2"); r != RuleSourceAllowed {
		t.Errorf("other org allowed (%q)", r)
	}
	if r := p.checkFormat(sniff.NPZ, false, false, nil); r != RuleFormatAllowed {
		t.Errorf("npz allowed (%q)", r)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := map[string]string{
		"mode: enforce\nallowed_formatz: [gguf]\n": "field allowed_formatz not found",
		"mode: block\n":                                            `mode "block"`,
		"allowed_formats: [gguf]\n":                                "mode is required",
		"mode: audit\nallowed_formats: [onnx]\n":                   `"onnx" is not one of`,
		"mode: audit\npinned_digests: {m: abc}\n":                  "not a 64 character hex",
		"mode: audit\nallowed_sources: ['']\n":                     "empty entry",
		"mode: [\n":                                                "invalid YAML",
		"mode: enforce\nallowed_formats: [gguf, pickle, wat, x]\n": `"wat"`,
	}
	for in, want := range tests {
		_, err := ParsePolicy([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePolicy(%q) = %v, want error containing %q", in, err, want)
		}
	}
	if _, err := LoadPolicyFile("testdata/missing.yaml"); err == nil || !strings.Contains(err.Error(), "reading policy file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"hf://mlx-community/*", "hf://mlx-community/a/b", true},
		{"hf://mlx-community/*", "hf://mlx-communityX/a", false},
		{"file:///srv/*/model.safetensors", "file:///srv/a/b/model.safetensors", true},
		{"file:///srv/?.gguf", "file:///srv/a.gguf", true},
		{"file:///srv/?.gguf", "file:///srv/ab.gguf", false},
		{"*", "", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("mode: enforce\nallowed_formats: [safetensors]\n"))
	f.Add([]byte("mode: audit\npinned_digests: {a: " + strings.Repeat("0", 64) + "}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err == nil && p.Validate() != nil {
			t.Fatal("ParsePolicy returned a policy that does not validate")
		}
	})
}
