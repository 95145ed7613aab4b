package modelsig

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// venvPython is the interpreter with model-signing (`make supply-tools` installs it into
// .venv); OTELMLX_PYTHON overrides it.
func venvPython(t testing.TB) string {
	t.Helper()
	py := os.Getenv("OTELMLX_PYTHON")
	if py == "" {
		if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
			py = filepath.Join(strings.TrimSpace(string(out)), ".venv", "bin", "python")
		}
	}
	if py == "" || exec.Command(py, "-c", "import model_signing").Run() != nil {
		t.Skip("python with model_signing not found (OTELMLX_PYTHON or .venv): run `make supply-tools` or `make test-supply`")
	}
	return py
}

// keyPair writes a new P-256 key pair as PEM files (PKCS#8 private, SubjectPublicKeyInfo
// public) and returns their paths.
func keyPair(t testing.TB, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".key.pem"), filepath.Join(dir, name+".pub.pem")
	write(t, priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	write(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}))
	return priv, pub
}

func write(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyModel writes a small model directory: weights larger than a few shards, a config, a
// nested tokenizer and a dot file (signed too: model-signing lists every file).
func tinyModel(t testing.TB, dir string, seed byte) {
	w := make([]byte, 5000)
	for i := range w {
		w[i] = byte(i) ^ seed
	}
	write(t, filepath.Join(dir, "model.safetensors"), w)
	write(t, filepath.Join(dir, "config.json"), []byte(`{"seed":`+string('0'+seed%10)+`}`))
	write(t, filepath.Join(dir, "tokenizer", "tokenizer.json"), []byte(`{"vocab":{}}`))
	write(t, filepath.Join(dir, ".metadata"), []byte("x"))
	write(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n")) // ignored by the spec
}

func sign(t testing.TB, py, model, key, sig, method string) {
	t.Helper()
	signShards(t, py, model, key, sig, method, 2048)
}

func signShards(t testing.TB, py, model, key, sig, method string, shardSize int) {
	t.Helper()
	args := []string{"testdata/sign.py", model, key, sig, method}
	if method == "shards" {
		args = append(args, strconv.Itoa(shardSize))
	}
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		t.Fatalf("model-signing sign: %v\n%s", err, out)
	}
}

func verifier(t testing.TB, pubs ...string) *Verifier {
	t.Helper()
	var cfg Config
	for _, p := range pubs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg.PublicKeys = append(cfg.PublicKeys, b)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestModelSigning(t *testing.T) {
	py := venvPython(t)
	for _, method := range []string{"files", "shards"} {
		t.Run(method, func(t *testing.T) {
			dir := t.TempDir()
			priv, pub := keyPair(t, dir, "team")
			_, otherPub := keyPair(t, dir, "other")
			v := verifier(t, pub)
			cases := []struct {
				name   string
				tamper func(model string) // applied after signing
				v      *Verifier
				sig    string // signature to use instead of the model's own
				want   Status
				reason string
			}{
				{name: "valid", want: Valid},
				{name: "changed byte", want: Invalid, reason: `changed: "model.safetensors`, tamper: func(m string) {
					p := filepath.Join(m, "model.safetensors")
					b, _ := os.ReadFile(p)
					b[4321] ^= 1
					write(t, p, b)
				}},
				{name: "added file", want: Invalid, reason: `not signed: "extra.py`, tamper: func(m string) {
					write(t, filepath.Join(m, "extra.py"), []byte("import os"))
				}},
				{name: "removed file", want: Invalid, reason: `missing: "tokenizer/tokenizer.json`, tamper: func(m string) {
					os.Remove(filepath.Join(m, "tokenizer", "tokenizer.json"))
				}},
				{name: "wrong key", v: verifier(t, otherPub), want: Untrusted, reason: "not trusted"},
				{name: "bundle for another model", sig: "other", want: Invalid, reason: "differs from its signed manifest"},
				{name: "missing", sig: "none", want: Missing},
				{name: "payload edited", sig: "edited", want: Invalid},
				{name: "ignored git path changed", want: Valid, tamper: func(m string) {
					write(t, filepath.Join(m, ".git", "HEAD"), []byte("changed"))
				}},
			}
			// Another model signed by the same trusted key.
			other := filepath.Join(dir, "other-model")
			tinyModel(t, other, 7)
			sign(t, py, other, priv, filepath.Join(other, "model.sig"), method)
			// The model, signed once; each case works on its own copy.
			base := filepath.Join(dir, "base")
			tinyModel(t, base, 1)
			sign(t, py, base, priv, filepath.Join(base, "model.sig"), method)
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					model := filepath.Join(dir, "m"+string(rune('a'+i)))
					if err := os.CopyFS(model, os.DirFS(base)); err != nil {
						t.Fatal(err)
					}
					sigPath := filepath.Join(model, "model.sig")
					switch c.sig {
					case "other":
						b, _ := os.ReadFile(filepath.Join(other, "model.sig"))
						write(t, sigPath, b)
					case "none":
						os.Remove(sigPath)
					case "edited":
						b, _ := os.ReadFile(sigPath)
						// Flip one base64 character of the DSSE payload: the signature no longer covers it.
						i := strings.Index(string(b), `"payload": "`) + len(`"payload": "`) + 40
						if b[i] == 'A' {
							b[i] = 'B'
						} else {
							b[i] = 'A'
						}
						write(t, sigPath, b)
					}
					if c.tamper != nil {
						c.tamper(model)
					}
					ver := v
					if c.v != nil {
						ver = c.v
					}
					r := ver.Verify(context.Background(), Model{Root: model, Signature: sigPath})
					if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
						t.Fatalf("got %s (%s), want %s (%q)", r.Status, r.Reason, c.want, c.reason)
					}
					if r.Status == Valid && (r.Method != method || !strings.HasPrefix(r.Signer, "key:")) {
						t.Errorf("valid result %+v", r)
					}
				})
			}
		})
	}
}

// TestFileDigestsReused checks that the "files" method takes the caller's digests instead of
// hashing again: a wrong digest from the caller makes the model differ from its manifest.
func TestFileDigestsReused(t *testing.T) {
	py := venvPython(t)
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "k")
	model := filepath.Join(dir, "model")
	tinyModel(t, model, 3)
	sig := filepath.Join(model, "model.sig")
	sign(t, py, model, priv, sig, "files")
	v := verifier(t, pub)
	asked := map[string]bool{}
	r := v.Verify(context.Background(), Model{Root: model, Signature: sig, FileDigest: func(rel string) (string, bool) {
		asked[rel] = true
		if rel == "config.json" {
			return strings.Repeat("0", 64), true
		}
		return "", false
	}})
	if r.Status != Invalid || !strings.Contains(r.Reason, `changed: "config.json"`) || !asked["model.safetensors"] {
		t.Fatalf("%+v, asked %v", r, asked)
	}
}

func TestSingleFileModel(t *testing.T) {
	py := venvPython(t)
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "k")
	model := filepath.Join(dir, "model.safetensors")
	write(t, model, []byte("weights"))
	sig := filepath.Join(dir, "model.sig")
	sign(t, py, model, priv, sig, "files")
	if r := verifier(t, pub).Verify(context.Background(), Model{Root: model, Signature: sig}); r.Status != Valid {
		t.Fatalf("%+v", r)
	}
	write(t, model, []byte("weightz"))
	if r := verifier(t, pub).Verify(context.Background(), Model{Root: model, Signature: sig}); r.Status != Invalid {
		t.Fatalf("changed single file: %+v", r)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{PublicKeys: [][]byte{[]byte("not pem")}},
		{Identities: []Identity{{Identity: "a@example.com", Issuer: "https://issuer"}}},
		{Identities: []Identity{{Identity: "a@example.com"}}, TrustedRoot: []byte("{}")},
	} {
		if _, err := NewVerifier(c); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", c)
		}
	}
}

func TestMalformedBundles(t *testing.T) {
	dir := t.TempDir()
	_, pub := keyPair(t, dir, "k")
	v := verifier(t, pub)
	model := filepath.Join(dir, "model")
	tinyModel(t, model, 1)
	for name, body := range map[string]string{
		"not json": "garbage",
		"empty":    "{}",
		"huge":     strings.Repeat(" ", maxBundle+10),
		"no dsse":  `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAAA"},"signature":"AAAA"}}`,
	} {
		sig := filepath.Join(dir, name+".sig")
		write(t, sig, []byte(body))
		if r := v.Verify(context.Background(), Model{Root: model, Signature: sig}); r.Status != Invalid || r.Reason == "" {
			t.Errorf("%s: %+v", name, r)
		}
	}
}
