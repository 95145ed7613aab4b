package modelsource

import (
	"strings"
	"testing"
)

// Issue 10 item 8: remote URIs are percent-decoded and their dot segments resolved before the
// allowlist sees them; what cannot be normalised is refused, never passed on as it is.
func TestRemoteURIsAreNormalised(t *testing.T) {
	ok := []struct{ ref, uri string }{
		{"hf://mlx-community/../evil-org/model", "hf://evil-org/model"},
		{"hf://mlx-community/%2e%2e/evil-org/model", "hf://evil-org/model"},
		{"hf://mlx-community/%2E%2E/evil-org/model", "hf://evil-org/model"},
		{"hf://mlx-community/.%2e/evil-org/model", "hf://evil-org/model"},
		{"hf://mlx-community/./phi-2", "hf://mlx-community/phi-2"},
		{"hf://MLX-community/phi-2@main", "hf://MLX-community/phi-2@main"},
		{"https://models.example.com/approved/../evil/m.gguf", "https://models.example.com/evil/m.gguf"},
		{"https://models.example.com/approved/%2e%2e/evil/m.gguf", "https://models.example.com/evil/m.gguf"},
		{"https://models.example.com/approved/./a/../m.gguf", "https://models.example.com/approved/m.gguf"},
		{"https://MODELS.Example.COM/approved/m.gguf", "https://models.example.com/approved/m.gguf"},
		{"HTTPS://models.example.com/approved/m.gguf", "https://models.example.com/approved/m.gguf"},
		{"https://models.example.com/approved/%7Euser/m.gguf", "https://models.example.com/approved/~user/m.gguf"},
		{"s3://bucket/approved/../private/w.safetensors", "s3://bucket/private/w.safetensors"},
		{"s3://bucket/approved/%2E./private/w.safetensors", "s3://bucket/private/w.safetensors"},
	}
	for _, tt := range ok {
		got := Classify(tt.ref)
		if got.Err != nil || got.URI != tt.uri {
			t.Errorf("Classify(%q) = %q (err %v), want %q", tt.ref, got.URI, got.Err, tt.uri)
		}
	}
	refused := []string{
		"mlx-community/phi-2@../../evil-org/model",
		"mlx-community/phi-2@refs/../../evil",
		"hf://mlx-community/phi-2@../../evil-org/model",
		"hf://mlx-community/../../evil-org/model",
		"hf://mlx-community/..",
		"https://models.example.com/approved/../../evil/m.gguf",
		"https://models.example.com/approved/..%2fevil/m.gguf",
		"https://models.example.com/approved/%2e%2e%2fevil/m.gguf",
		"https://models.example.com/approved/..%5cevil/m.gguf",
		"https://models.example.com/approved\\..\\evil/m.gguf",
		"https://models.example.com/approved/%00/m.gguf",
		"https://models.example.com/approved/%zz/m.gguf",
		"s3://bucket/approved/../../private/w.safetensors",
	}
	for _, ref := range refused {
		got := Classify(ref)
		if got.Err == nil {
			t.Errorf("Classify(%q) = %q, want a normalisation error", ref, got.URI)
		}
		if got.Kind == Local {
			t.Errorf("Classify(%q): a URI that cannot be normalised became a local path", ref)
		}
	}
}

// Issue 10 item 9: credentials never reach the recorded URI, whatever the parameter is called
// and whether or not url.Parse accepts the URL.
func TestCredentialsAreNeverRecorded(t *testing.T) {
	secret := "S3CRET"
	refs := []string{
		"https://host/m?password=S3CRET&x=1",
		"https://host/m?client_secret=S3CRET",
		"https://host/m?hf_token=S3CRET",
		"https://host/m?private_token=S3CRET",
		"https://host/m?auth=S3CRET",
		"https://host/m?PASSWORD=S3CRET",
		"https://host/m?Client_Secret=S3CRET",
		"https://host/m?X-Api-Key=S3CRET",
		"https://host/m?aws_secret_access_key=S3CRET",
		"https://host/m?authorization=Bearer+S3CRET",
		"https://host/m?passwd=S3CRET",
		"https://host/m?session=S3CRET",
		"https://host/m?jwt=S3CRET",
		"s3://bucket/m?X-Amz-Credential=S3CRET",
		"https://alice:S3CRET%@host/m.gguf",
		"https://alice:S3CRET@host:abc/m.gguf",
		"https://alice:S3CRET@host/m.gguf",
		"hf://alice:S3CRET@org/repo",
		"https://host/m#access_token=S3CRET",
		"ftp://alice:S3CRET@host/m",
		"https://host/m?token=%zzS3CRET",
	}
	for _, ref := range refs {
		got := Classify(ref)
		if strings.Contains(got.URI, secret) {
			t.Errorf("Classify(%q) records %q", ref, got.URI)
		}
		if got.Err != nil && strings.Contains(got.Err.Error(), secret) {
			t.Errorf("Classify(%q) error text holds the secret: %v", ref, got.Err)
		}
		if got.Kind == Local {
			t.Errorf("Classify(%q): a URL became a local path", ref)
		}
	}
	// Parameters that carry no credential stay readable.
	if got := Classify("https://host/m?revision=main&x=1"); got.URI != "https://host/m?revision=main&x=1" {
		t.Errorf("plain parameters changed: %q", got.URI)
	}
}
