package otelmlx

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/log"
)

// Pickles written opcode by opcode (package pickle's tests cover every opcode).
const (
	// A state dict as torch.save writes data.pkl (protocol 2): graded low.
	torchStatePkl = "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02" +
		"ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89h\x00)Rtq\x06Rq\x07s."
	// os.system("id"), protocol 4, module and name from memoized strings: graded critical.
	osSystemPkl = "\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94."
)

func writeFile(t *testing.T, p string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPolicy(t *testing.T, yaml string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPickleGradesAndAllowance(t *testing.T) {
	dir := t.TempDir()
	low := writeFile(t, filepath.Join(dir, "state.pt"), []byte(torchStatePkl))
	crit := writeFile(t, filepath.Join(dir, "evil.pt"), []byte(osSystemPkl))
	lowGlobals := []string{"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"}
	for _, c := range []struct {
		name, policy, path string
		wantRule, wantSev  string
		globals            []string
		loads              bool
		reason             string
	}{
		{"default refuses low", "mode: enforce\n", low, RuleUnsafeFormat, "low", lowGlobals, false, "allow_pickle_up_to is none"},
		{"default refuses critical", "mode: enforce\n", crit, RuleUnsafeFormat, "critical", []string{"os.system"}, false, "imports os.system"},
		{"low admitted", "mode: enforce\nallow_pickle_up_to: low\n", low, RuleAllowedByRules, "low", lowGlobals, true, ""},
		{"critical stays refused", "mode: enforce\nallow_pickle_up_to: low\n", crit, RuleUnsafeFormat, "critical", []string{"os.system"}, false, "graded critical"},
		{"high ceiling still refuses critical", "mode: enforce\nallow_pickle_up_to: high\n", crit, RuleUnsafeFormat, "critical", []string{"os.system"}, false, "graded critical"},
		{"audit records", "mode: audit\nallow_pickle_up_to: low\n", crit, RuleUnsafeFormat, "critical", []string{"os.system"}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, WithPolicy(mustPolicy(t, c.policy)))
			called := false
			_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: c.path}, func(context.Context) (*model, error) {
				called = true
				return &model{}, nil
			})
			if called != c.loads {
				t.Fatalf("loader called %v, want %v (err %v)", called, c.loads, err)
			}
			var pe *PolicyError
			if !c.loads && (!errors.As(err, &pe) || !strings.Contains(pe.Reason, c.reason)) {
				t.Fatalf("err %v, want a PolicyError saying %q", err, c.reason)
			}
			if info.Rule != c.wantRule {
				t.Errorf("rule %s, want %s", info.Rule, c.wantRule)
			}
			s := h.onlySpan(t)
			wantAttrs(t, "span", s.Attributes(), map[string]any{
				string(KeyModelScanSeverity): c.wantSev, string(KeyModelScanGlobals): c.globals, string(KeyModelFormat): "pickle",
			})
			ev := EventLoadSucceeded
			if !c.loads {
				ev = EventPolicyDenied
			}
			wantAttrs(t, "event", h.event(t, ev).Attributes, map[string]any{string(KeyModelScanSeverity): c.wantSev})
		})
	}
}

// The scan verdict is kept with the file's digest: loading an unchanged pickle again does not
// scan it again and records the same grade and imports; a changed file is scanned again.
func TestPickleScanCached(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "state.pt"), []byte(torchStatePkl))
	h := newHarness(t, WithPolicy(mustPolicy(t, "mode: enforce\nallow_pickle_up_to: low\n")))
	load := func() (called bool) {
		t.Helper()
		Load(context.Background(), h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (*model, error) {
			called = true
			return &model{}, nil
		})
		return called
	}
	scans := func() int64 { return h.in.inspect.PickleScans() }
	lowGlobals := []string{"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"}
	for i := 0; i < 3; i++ {
		if !load() {
			t.Fatalf("load %d: a low pickle with allow_pickle_up_to low was refused", i+1)
		}
		if scans() != 1 {
			t.Fatalf("after load %d of an unchanged file: %d scans, want 1", i+1, scans())
		}
		s := h.spans.Ended()[i]
		wantAttrs(t, fmt.Sprintf("span %d", i+1), s.Attributes(), map[string]any{
			string(KeyModelScanSeverity): "low", string(KeyModelScanGlobals): lowGlobals,
		})
	}
	// The same path with other content: a new identity, scanned again, graded anew.
	writeFile(t, p, []byte(osSystemPkl))
	if load() {
		t.Fatal("the file now calls os.system and was loaded")
	}
	if scans() != 2 {
		t.Fatalf("after the file changed: %d scans, want 2", scans())
	}
	wantAttrs(t, "span after change", h.spans.Ended()[3].Attributes(), map[string]any{
		string(KeyModelScanSeverity): "critical", string(KeyModelScanGlobals): []string{"os.system"},
	})
	// And unchanged since: not scanned again, still critical.
	load()
	if scans() != 2 {
		t.Fatalf("second load of the changed file: %d scans, want 2", scans())
	}
	wantAttrs(t, "span 5", h.spans.Ended()[4].Attributes(), map[string]any{string(KeyModelScanSeverity): "critical"})
}

func TestPyTorchZipIsScanned(t *testing.T) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	// The storage first: the sniffer decides from the first members, the scan reads them all.
	for _, m := range [][2]string{{"archive/data/0", "\x00\x00\x80?"}, {"archive/data.pkl", osSystemPkl}, {"archive/version", "3\n"}} {
		f, _ := w.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Store})
		f.Write([]byte(m[1]))
	}
	w.Close()
	p := writeFile(t, filepath.Join(t.TempDir(), "model.pt"), b.Bytes())
	h := newHarness(t, WithPolicy(mustPolicy(t, "mode: enforce\nallow_pickle_up_to: medium\n")))
	called := false
	_, info, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (*model, error) {
		called = true
		return &model{}, nil
	})
	var pe *PolicyError
	if called || !errors.As(err, &pe) || !strings.Contains(pe.Reason, "os.system") {
		t.Fatalf("loader ran %v, err %v, info %+v", called, err, info)
	}
	wantAttrs(t, "span", h.onlySpan(t).Attributes(), map[string]any{string(KeyModelScanSeverity): "critical"})
}

func TestPolicyValidatesPickleAllowance(t *testing.T) {
	for yaml, want := range map[string]string{
		"mode: enforce\nallowed_formats: [safetensors, pickle]\n":                            "allow_pickle_up_to is none",
		"mode: enforce\nallow_pickle_up_to: critical\n":                                      "never admitted",
		"mode: enforce\nallow_pickle_up_to: lowish\n":                                        "none, low, medium, high",
		"mode: enforce\nsignatures:\n  - public_keys: [/nonexistent.pem]\n":                  "set models or sources",
		"mode: enforce\nsignatures:\n  - models: [x]\n    public_keys: [/nonexistent.pem]\n": "nonexistent.pem",
		"mode: enforce\nsignatures:\n  - models: [x]\n":                                      "public_keys",
	} {
		if _, err := ParsePolicy([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one saying %q", yaml, err, want)
		}
	}
}

// hfCache builds a hub cache repository for org/repo with one LFS weight file and a small git
// file, both linked from snapshots/<rev>/, and returns the snapshot directory.
func hfCache(t *testing.T, root string, weights []byte) (snap, blob string) {
	t.Helper()
	repo := filepath.Join(root, "hub", "models--mlx-community--tiny")
	sum := sha256.Sum256(weights)
	blob = filepath.Join(repo, "blobs", hex.EncodeToString(sum[:]))
	writeFile(t, blob, weights)
	cfg := filepath.Join(repo, "blobs", strings.Repeat("a", 40)) // a git blob id, not compared
	writeFile(t, cfg, []byte(`{}`))
	snap = filepath.Join(repo, "snapshots", "0123456789abcdef0123456789abcdef01234567")
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"model.safetensors": blob, "config.json": cfg} {
		rel, _ := filepath.Rel(snap, target)
		if err := os.Symlink(rel, filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	return snap, blob
}

func safetensorsBytes(t *testing.T) []byte {
	t.Helper()
	p, _ := writeSafetensors(t, t.TempDir(), "w.safetensors")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHuggingFaceCache(t *testing.T) {
	weights := safetensorsBytes(t)
	const source = "hf://mlx-community/tiny@0123456789abcdef0123456789abcdef01234567"

	t.Run("recorded as hf source", func(t *testing.T) {
		snap, _ := hfCache(t, t.TempDir(), weights)
		h := newHarness(t)
		_, info, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: snap}, func(context.Context) (*model, error) { return &model{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		if info.SourceURI != source || info.SourceKind != "hf" {
			t.Errorf("source %s (%s), want %s (hf)", info.SourceURI, info.SourceKind, source)
		}
		wantAttrs(t, "span", h.onlySpan(t).Attributes(), map[string]any{string(KeyModelSource): source, string(KeyModelSourceKind): "hf"})
		for _, r := range h.events() {
			if r.EventName == EventIntegrityMismatch {
				t.Error("integrity event for an intact cache")
			}
		}
	})

	t.Run("hub source with a cache path gets the revision", func(t *testing.T) {
		snap, _ := hfCache(t, t.TempDir(), weights)
		h := newHarness(t)
		_, info, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: "hf://mlx-community/tiny", Path: snap}, func(context.Context) (*model, error) { return &model{}, nil })
		if err != nil || info.SourceURI != source {
			t.Fatalf("%v, source %s", err, info.SourceURI)
		}
	})

	t.Run("blob changed, no pin, no policy: event, load proceeds", func(t *testing.T) {
		snap, blob := hfCache(t, t.TempDir(), weights)
		poisoned := append(bytes.Clone(weights[:len(weights)-1]), 1)
		writeFile(t, blob, poisoned)
		h := newHarness(t)
		_, _, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: snap}, func(context.Context) (*model, error) { return &model{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		r := h.event(t, EventIntegrityMismatch)
		if r.Severity != log.SeverityFatal {
			t.Errorf("severity %v", r.Severity)
		}
		wantAttrs(t, "event", r.Attributes, map[string]any{string(KeyModelFile): "model.safetensors", string(KeyModelBlobSHA256): filepath.Base(blob)})
	})

	t.Run("blob changed, enforce: model discarded", func(t *testing.T) {
		snap, blob := hfCache(t, t.TempDir(), weights)
		writeFile(t, blob, append(bytes.Clone(weights[:len(weights)-1]), 1))
		h := newHarness(t, WithPolicy(mustPolicy(t, "mode: enforce\n")))
		m := &model{}
		got, info, err := Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: snap}, func(context.Context) (*model, error) { return m, nil })
		var ie *IntegrityError
		if !errors.As(err, &ie) || got != nil || !m.closed.Load() || info.Rule != RuleDigestHFBlob {
			t.Fatalf("err %v, model %v, closed %v, rule %s", err, got, m.closed.Load(), info.Rule)
		}
		// Hashed now, so the next load refuses before its loader.
		_, _, err = Load(context.Background(), h.in, ModelRef{Name: "tiny", Source: snap}, func(context.Context) (*model, error) {
			t.Fatal("loader ran for a known mismatch")
			return nil, nil
		})
		if !errors.As(err, &ie) {
			t.Fatalf("second load: %v", err)
		}
	})
}

// venvPython is the interpreter with model-signing (`make supply-tools`); OTELMLX_PYTHON
// overrides it.
func venvPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("OTELMLX_PYTHON")
	if py == "" {
		if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
			py = filepath.Join(strings.TrimSpace(string(out)), ".venv", "bin", "python")
		}
	}
	if py == "" || exec.Command(py, "-c", "import model_signing").Run() != nil {
		t.Skip("python with model_signing not found (OTELMLX_PYTHON or .venv): run `make test-supply`")
	}
	return py
}

func ecKeyFiles(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pder, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv = writeFile(t, filepath.Join(dir, name+".key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	pub = writeFile(t, filepath.Join(dir, name+".pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}))
	return priv, pub
}

func TestRequiredSignature(t *testing.T) {
	py := venvPython(t)
	dir := t.TempDir()
	priv, pub := ecKeyFiles(t, dir, "team")
	_, otherPub := ecKeyFiles(t, dir, "other")
	modelDir := filepath.Join(dir, "signed-lm")
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSafetensors(t, modelDir, "model.safetensors")
	writeFile(t, filepath.Join(modelDir, "config.json"), []byte(`{"layers":2}`))
	sig := filepath.Join(modelDir, "model.sig")
	if out, err := exec.Command(py, "internal/modelsig/testdata/sign.py", modelDir, priv, sig, "files").CombinedOutput(); err != nil {
		t.Fatalf("model-signing: %v\n%s", err, out)
	}
	policy := func(mode, key string) *Policy {
		return mustPolicy(t, "mode: "+mode+"\nsignatures:\n  - models: [\"signed-*\"]\n    public_keys: ["+key+"]\n")
	}

	t.Run("valid", func(t *testing.T) {
		h := newHarness(t, WithPolicy(policy("enforce", pub)))
		_, info, err := Load(context.Background(), h.in, ModelRef{Name: "signed-lm", Source: modelDir}, func(context.Context) (*model, error) { return &model{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		attrs := attrMap(h.onlySpan(t).Attributes())
		if attrs[string(KeyModelSignatureStatus)].AsString() != "valid" || !strings.HasPrefix(attrs[string(KeyModelSignatureSigner)].AsString(), "key:") {
			t.Errorf("attributes %v", attrs)
		}
		if info.SHA256 == "" {
			t.Error("the files hashed for the signature did not give the model digest")
		}
	})

	t.Run("not required for other models", func(t *testing.T) {
		h := newHarness(t, WithPolicy(policy("enforce", pub)))
		if _, _, err := Load(context.Background(), h.in, ModelRef{Name: "other", Source: modelDir}, func(context.Context) (*model, error) { return &model{}, nil }); err != nil {
			t.Fatal(err)
		}
		if _, ok := attrMap(h.onlySpan(t).Attributes())[string(KeyModelSignatureStatus)]; ok {
			t.Error("signature status recorded where no rule applies")
		}
	})

	tampered := filepath.Join(dir, "signed-tampered")
	if err := os.CopyFS(tampered, os.DirFS(modelDir)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tampered, "config.json"), []byte(`{"layers":3}`))
	unsigned := filepath.Join(dir, "signed-unsigned")
	if err := os.CopyFS(unsigned, os.DirFS(modelDir)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(unsigned, "model.sig"))

	for _, c := range []struct {
		name, path, key, status string
	}{
		{"changed file", tampered, pub, "invalid"},
		{"missing signature", unsigned, pub, "missing"},
		{"untrusted key", modelDir, otherPub, "untrusted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, WithPolicy(policy("enforce", c.key)))
			_, info, err := Load(context.Background(), h.in, ModelRef{Name: "signed-lm", Source: c.path}, func(context.Context) (*model, error) {
				t.Fatal("loader ran for a model whose required signature is not valid")
				return nil, nil
			})
			var se *SignatureError
			var pe *PolicyError
			if !errors.As(err, &se) || se.Status != c.status || !errors.As(err, &pe) || pe.Rule != RuleSignatureRequired {
				t.Fatalf("err %v (%T)", err, err)
			}
			if info.Rule != RuleSignatureRequired || info.Decision != DecisionDeny {
				t.Errorf("rule %s decision %s", info.Rule, info.Decision)
			}
			r := h.event(t, EventSignatureInvalid)
			if r.Severity != log.SeverityError {
				t.Errorf("event severity %v", r.Severity)
			}
			wantAttrs(t, "event", r.Attributes, map[string]any{string(KeyModelSignatureStatus): c.status})
			wantAttrs(t, "span", h.onlySpan(t).Attributes(), map[string]any{string(KeyModelSignatureStatus): c.status, "error.type": "signature_invalid"})
		})
	}

	t.Run("audit proceeds", func(t *testing.T) {
		h := newHarness(t, WithPolicy(policy("audit", pub)))
		_, info, err := Load(context.Background(), h.in, ModelRef{Name: "signed-lm", Source: tampered}, func(context.Context) (*model, error) { return &model{}, nil })
		if err != nil || info.Decision != DecisionAudit || info.Rule != RuleSignatureRequired {
			t.Fatalf("%v %+v", err, info)
		}
		h.event(t, EventSignatureInvalid)
	})
}
