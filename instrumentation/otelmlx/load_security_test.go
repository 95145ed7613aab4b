package otelmlx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// noPanic runs fn and fails the test if it panics.
func noPanic(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Load panicked: %v", r)
		}
	}()
	fn()
}

// Issue 10 item 1: a pinned model whose digest cannot be computed (a remote source without a
// local Path) fails closed with a typed error; a model that was loaded is closed.
func TestPinnedRemoteModelWithoutPathFailsClosed(t *testing.T) {
	pin := strings.Repeat("ab", 32)
	for _, src := range []string{"hf://mlx-community/tiny-lm", "mlx-community/tiny-lm", "https://models.example.com/tiny-lm.gguf", "s3://bucket/tiny-lm/"} {
		t.Run(src, func(t *testing.T) {
			h := newHarness(t, WithPolicy(&Policy{Mode: Enforce, AllowedSources: []string{"hf://mlx-community/*", "https://models.example.com/", "s3://bucket/"},
				AllowedFormats: []string{"unknown", "safetensors"}, PinnedDigests: map[string]string{"tiny-lm": pin}}))
			var loaded *model
			var got *model
			var err error
			noPanic(t, func() {
				got, _, err = Load(context.Background(), h.in, ModelRef{Name: "tiny-lm", Source: src}, func(context.Context) (*model, error) {
					loaded = &model{}
					return loaded, nil
				})
			})
			var pe *PolicyError
			var ie *IntegrityError
			if !errors.As(err, &pe) && !errors.As(err, &ie) {
				t.Fatalf("err %v, want a *PolicyError or *IntegrityError", err)
			}
			if got != nil {
				t.Fatal("the unverified model was returned")
			}
			if loaded != nil && !loaded.closed.Load() {
				t.Fatal("the unverified model was loaded and not closed")
			}
			if m := attrMap(h.onlySpan(t).Attributes()); m["mlx.policy.decision"].AsString() != DecisionDeny {
				t.Errorf("decision %v", m["mlx.policy.decision"])
			}
		})
	}
}

// Issue 10 item 7: a digest known not to match the pin (from the cache) refuses the load before
// the loader runs, on every load, whether or not verify_before_load is set.
func TestKnownMismatchRefusesBeforeLoader(t *testing.T) {
	for _, verify := range []bool{true, false} {
		t.Run(fmt.Sprint("verify_before_load=", verify), func(t *testing.T) {
			path, _ := writeSafetensors(t, t.TempDir(), "m.safetensors")
			h := newHarness(t, WithPolicy(&Policy{Mode: Enforce, VerifyBeforeLoad: verify, PinnedDigests: map[string]string{"m": strings.Repeat("0", 64)}}))
			calls := 0
			for i := range 3 {
				m, _, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: path}, func(context.Context) (*model, error) {
					calls++
					return &model{}, nil
				})
				var ie *IntegrityError
				if !errors.As(err, &ie) || m != nil {
					t.Fatalf("load %d: err %v model %v", i, err, m)
				}
			}
			want := 0
			if !verify {
				want = 1 // the first load hashes while the loader reads; the mismatch is known after
			}
			if calls != want {
				t.Fatalf("loader called %d times, want %d", calls, want)
			}
		})
	}
}

// Issue 10 item 10: a source the allowlist denies is refused from the reference alone: it is
// never opened, listed or parsed, whatever it is.
func TestDeniedSourceIsNeverInspected(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.safetensors")
	mkfifo(t, fifo)
	many := filepath.Join(dir, "many")
	os.Mkdir(many, 0o755)
	for i := range 10_001 {
		if err := os.WriteFile(filepath.Join(many, fmt.Sprintf("f%05d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy := &Policy{Mode: Enforce, AllowedSources: []string{"file:///srv/allowed/"}}
	for _, src := range []string{filepath.Join(dir, "missing"), fifo, "/dev/zero", many, "file://" + many} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			h := newHarness(t, WithPolicy(policy))
			_, _, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: src}, func(context.Context) (int, error) { t.Fatal("loader called"); return 0, nil })
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Rule != RuleSourceAllowed {
				t.Fatalf("err %v, want PolicyError rule %s", err, RuleSourceAllowed)
			}
			h.event(t, EventPolicyDenied)
			for _, r := range h.events() {
				if r.EventName == EventLoadFailed {
					t.Fatalf("%s emitted for a denied source: %s", EventLoadFailed, r.Body.AsString())
				}
			}
		})
	}
}

// Issue 10 item 18: when the digest cannot be computed after the loader ran (the context was
// cancelled meanwhile), a pinned model is closed and not returned.
func TestHashFailureAfterLoadClosesModel(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 64<<20)
	p := filepath.Join(dir, "w.bin")
	os.WriteFile(p, data, 0o644)
	sum := sha256.Sum256(data)
	h := newHarness(t, WithPolicy(&Policy{Mode: Enforce, AllowedFormats: []string{"unknown"}, PinnedDigests: map[string]string{"m": hex.EncodeToString(sum[:])}}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loaded := &model{}
	got, _, err := Load(ctx, h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (*model, error) {
		cancel()
		return loaded, nil
	})
	if err == nil {
		t.Fatal("no error although the digest of a pinned model could not be computed")
	}
	if got != nil || !loaded.closed.Load() {
		t.Fatalf("model returned (%v) or not closed (%v) with error %v", got != nil, loaded.closed.Load(), err)
	}
}

// Issue 10 item 21: a prefix without a trailing slash ends at a path boundary, and a local Path
// outside the allowed Source is refused.
func TestAllowlistPitfalls(t *testing.T) {
	dir := mustReal(t, t.TempDir())
	os.MkdirAll(filepath.Join(dir, "allowed"), 0o755)
	os.MkdirAll(filepath.Join(dir, "allowed-evil"), 0o755)
	good, _ := writeSafetensors(t, filepath.Join(dir, "allowed"), "m.safetensors")
	evil, _ := writeSafetensors(t, filepath.Join(dir, "allowed-evil"), "m.safetensors")
	policy := &Policy{Mode: Enforce, AllowedSources: []string{"file://" + dir + "/allowed", "https://models.example.com/approved"}, AllowedFormats: []string{"safetensors", "unknown"}}
	cases := []struct {
		name string
		ref  ModelRef
		deny bool
	}{
		{"inside the prefix", ModelRef{Name: "m", Source: good}, false},
		{"prefix itself", ModelRef{Name: "m", Source: filepath.Join(dir, "allowed")}, false},
		{"sibling sharing the prefix", ModelRef{Name: "m", Source: evil}, true},
		{"https sibling sharing the prefix", ModelRef{Name: "m", Source: "https://models.example.com/approved-evil/m.gguf"}, true},
		{"https inside the prefix", ModelRef{Name: "m", Source: "https://models.example.com/approved/m.gguf"}, false},
		{"Source allowed, Path elsewhere", ModelRef{Name: "m", Source: good, Path: evil}, true},
		{"Source allowed, Path inside it", ModelRef{Name: "m", Source: filepath.Join(dir, "allowed"), Path: good}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, WithPolicy(policy))
			called := false
			_, _, err := Load(context.Background(), h.in, tc.ref, func(context.Context) (int, error) { called = true; return 1, nil })
			var pe *PolicyError
			if denied := errors.As(err, &pe); denied != tc.deny {
				t.Fatalf("err %v, want denied=%v", err, tc.deny)
			}
			if tc.deny && called {
				t.Fatal("loader called")
			}
		})
	}
}

// Issue 10 items 8 and 9 through Load: an allowlisted prefix cannot be escaped with dot
// segments, the normalised URI is what is recorded, and no credential reaches the error or
// the telemetry, even from a URL url.Parse rejects.
func TestLoadNormalisesAndRedactsSources(t *testing.T) {
	policy := &Policy{Mode: Enforce, AllowedSources: []string{"hf://mlx-community/*", "https://models.example.com/approved/", "s3://bucket/approved/"}, AllowedFormats: []string{"unknown"}}
	for _, src := range []string{
		"hf://mlx-community/../evil-org/model", "hf://mlx-community/%2e%2e/evil-org/model",
		"mlx-community/phi-2@../../evil-org/model", "https://models.example.com/approved/../../evil/m.gguf",
		"https://models.example.com/approved/%2e%2e/evil/m.gguf", "s3://bucket/approved/../private/w.safetensors",
		"https://alice:S3CRET%@models.example.com/approved/m.gguf", "https://alice:S3CRET@models.example.com:x/approved/m.gguf",
	} {
		t.Run(src, func(t *testing.T) {
			h := newHarness(t, WithPolicy(policy))
			_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: src}, func(context.Context) (int, error) { t.Fatal("loader called"); return 0, nil })
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Rule != RuleSourceAllowed {
				t.Fatalf("err %v, want a source.allowlist denial", err)
			}
			if strings.Contains(err.Error(), "S3CRET") || strings.Contains(info.SourceURI, "S3CRET") {
				t.Fatalf("credential in %q / %q", err, info.SourceURI)
			}
			if strings.Contains(info.SourceURI, "..") || strings.Contains(strings.ToLower(info.SourceURI), "%2e") {
				t.Fatalf("recorded source %q is not normalised", info.SourceURI)
			}
			for _, r := range h.events() {
				if strings.Contains(r.Body.AsString(), "S3CRET") {
					t.Fatalf("credential in event body %q", r.Body.AsString())
				}
				for _, kv := range r.Attributes {
					if kv.Value.Type() == attribute.STRING && strings.Contains(kv.Value.AsString(), "S3CRET") {
						t.Fatalf("credential in %s", kv.Key)
					}
				}
			}
			if s := h.onlySpan(t); strings.Contains(s.Status().Description, "S3CRET") {
				t.Fatal("credential in span status")
			}
		})
	}
	h := newHarness(t, WithPolicy(policy))
	_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: "https://models.example.com/approved/./x/../m.gguf?hf_token=S3CRET"}, func(context.Context) (int, error) { return 1, nil })
	if err != nil || info.SourceURI != "https://models.example.com/approved/m.gguf?hf_token=REDACTED" {
		t.Fatalf("allowed source: err %v, recorded %q", err, info.SourceURI)
	}
}
