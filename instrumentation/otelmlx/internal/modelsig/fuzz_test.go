package modelsig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sanitize"
)

// The seed bundles in testdata/seed were made by the real model-signing package (sign.py, one
// per serialization) over tinyModel(dir, 1) with a P-256 key whose public half is
// key.pub.pem; the private key was thrown away. They let the fuzz targets start from valid
// signatures without Python (make fuzz runs before the supply tools are installed).
// Regenerate them with OTELMLX_REGEN_SEEDS=1 go test -run TestRegenerateSeeds.
var seedFiles = []string{"files.sig", "shards.sig"}

func readSeed(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRegenerateSeeds(t *testing.T) {
	if os.Getenv("OTELMLX_REGEN_SEEDS") != "1" {
		t.Skip("set OTELMLX_REGEN_SEEDS=1 to sign testdata/seed again with model-signing")
	}
	py := venvPython(t)
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "k")
	model := filepath.Join(dir, "model")
	tinyModel(t, model, 1)
	for _, name := range seedFiles {
		sign(t, py, model, priv, filepath.Join("testdata", "seed", name), strings.TrimSuffix(name, ".sig"))
	}
	b, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join("testdata", "seed", "key.pub.pem"), b)
}

// seedPayload is the DSSE payload (the signed statement) of a bundle, nil if it has none.
func seedPayload(raw []byte) []byte {
	var b bundle.Bundle
	if b.UnmarshalJSON(bytes.TrimSpace(raw)) != nil {
		return nil
	}
	if env := b.GetDsseEnvelope(); env != nil {
		return env.Payload
	}
	return nil
}

// TestSeedBundles: the committed seeds verify against the model they sign and not another,
// so the fuzz targets start from signatures that pass every step.
func TestSeedBundles(t *testing.T) {
	dir := t.TempDir()
	model, other := filepath.Join(dir, "model"), filepath.Join(dir, "other")
	tinyModel(t, model, 1)
	tinyModel(t, other, 2)
	v := verifier(t, filepath.Join("testdata", "seed", "key.pub.pem"))
	for _, name := range seedFiles {
		sig := filepath.Join("testdata", "seed", name)
		if r := v.Verify(context.Background(), Model{Root: model, Signature: sig}); r.Status != Valid || r.Method != strings.TrimSuffix(name, ".sig") {
			t.Errorf("%s: %+v", name, r)
		}
		if r := v.Verify(context.Background(), Model{Root: other, Signature: sig}); r.Status != Invalid {
			t.Errorf("%s on another model: %+v", name, r)
		}
	}
}

// rewrap returns the bundle with its DSSE payload replaced (the signature no longer covers it).
func rewrap(t testing.TB, raw []byte, edit func(st map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	p, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(p, &st); err != nil {
		t.Fatal(err)
	}
	edit(st)
	p, _ = json.Marshal(st)
	env["payload"] = base64.StdEncoding.EncodeToString(p)
	out, _ := json.Marshal(b)
	return out
}

// FuzzVerify fuzzes the signature file, which comes from outside, against a fixed model and a
// verifier trusting the seeds' key. Properties: no panic; Valid only for a bundle whose
// signed statement is byte for byte one the trusted key signed (whatever else changed around
// it); Reason and Signer bounded, and escaped by the caller's sanitizer into printable text.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	model := filepath.Join(dir, "model")
	tinyModel(f, model, 1)
	v := verifier(f, filepath.Join("testdata", "seed", "key.pub.pem"))
	var signed [][]byte
	for _, name := range seedFiles {
		raw := readSeed(f, name)
		signed = append(signed, seedPayload(raw))
		f.Add(raw)
		f.Add(rewrap(f, raw, func(st map[string]any) { // a resource listed twice
			pr := st["predicate"].(map[string]any)
			rs := pr["resources"].([]any)
			pr["resources"] = append(rs, rs[0])
		}))
		f.Add(rewrap(f, raw, func(st map[string]any) { // names escaping the model
			pr := st["predicate"].(map[string]any)
			r := pr["resources"].([]any)[0].(map[string]any)
			r["name"] = "../../etc/passwd"
			pr["serialization"].(map[string]any)["ignore_paths"] = []any{"/", "..", "../x", "model.safetensors"}
		}))
	}
	f.Add([]byte(`{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"` +
		base64.StdEncoding.EncodeToString([]byte(`{"predicate":{"resources":[`+strings.Repeat(`{},`, 2000)+`{}]}}`)) + `"}}`))
	f.Add([]byte(strings.Repeat("[", 5000)))
	sigPath := filepath.Join(dir, "model.sig")
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bytes as Verify has read them from sigPath (writing a file per input would make
		// the target ten times slower).
		r := v.verifyBytes(context.Background(), data, Model{Root: model, Signature: sigPath})
		switch r.Status {
		case Valid:
			p := seedPayload(data)
			ok := false
			for _, s := range signed {
				ok = ok || (p != nil && bytes.Equal(p, s))
			}
			if !ok || r.Reason != "" || !strings.HasPrefix(r.Signer, "key:") {
				t.Fatalf("valid for a statement the key did not sign: %+v\npayload %q", r, p)
			}
		case Invalid, Untrusted:
			if r.Reason == "" {
				t.Fatalf("%s without a reason", r.Status)
			}
		default:
			t.Fatalf("status %q for a signature file that exists", r.Status)
		}
		if len(r.Reason) > maxReason+len("…") || len(r.Signer) > 128+len("…") {
			t.Fatalf("unbounded result: reason %d bytes, signer %d bytes", len(r.Reason), len(r.Signer))
		}
		if r.Method != "" && r.Method != "files" && r.Method != "shards" {
			t.Fatalf("method %q from an unchecked statement", r.Method)
		}
		for _, s := range []string{sanitize.String(r.Reason, 0), sanitize.String(r.Signer, 0)} {
			if strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
				t.Fatalf("control character left in %q", s)
			}
		}
	})
}

// manifestFiles is the model FuzzManifest checks manifests against, with names a careless or
// hostile manifest can get nearly right.
var manifestFiles = map[string]string{
	"model.safetensors":     "weights",
	"config.json":           "{}",
	"tokenizer/vocab.json":  "{}",
	"Tokenizer/vocab.json":  "x",   // differs from the above only by case
	"caf\u00e9.txt":         "nfc", // NFD would be "cafe\u0301.txt"
	"\u2126.txt":            "ohm", // OHM SIGN: NFC normalizes it to GREEK CAPITAL OMEGA
	".hidden/a b\tc.bin":    "spaces",
	"deep/a/b/c/d/e/f/g.py": "#",
}

// manifestModel writes manifestFiles under dir/model and a secret file beside it, and returns
// dir and the model's digests by name.
func manifestModel(t testing.TB) (string, map[string]string) {
	dir := t.TempDir()
	digests := map[string]string{}
	for rel, body := range manifestFiles {
		write(t, filepath.Join(dir, "model", filepath.FromSlash(rel)), []byte(body))
		s := sha256.Sum256([]byte(body))
		digests[rel] = hex.EncodeToString(s[:])
	}
	write(t, filepath.Join(dir, "secret"), []byte("outside the model"))
	return dir, digests
}

type resource = struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Digest    string `json:"digest"`
}

// filesStatement is a well-formed "files" statement listing resources, with its subject digest.
func filesStatement(resources []resource) *statement { return manifestStatement(resources, false) }

// manifestShardSize is the shard size of manifestStatement's "shards" statements: larger than
// every file of manifestFiles, so that each file is the one shard "name:0:size".
const manifestShardSize = 1024

// shardDigests names manifestModel's digests as a "shards" serialization does.
func shardDigests(digests map[string]string) map[string]string {
	out := make(map[string]string, len(digests))
	for rel, d := range digests {
		out[rel+":0:"+strconv.Itoa(len(manifestFiles[rel]))] = d
	}
	return out
}

// manifestStatement is a well-formed statement listing resources, with its subject digest.
func manifestStatement(resources []resource, shards bool) *statement {
	var st statement
	st.Type, st.PredicateType = statementType, PredicateType
	st.Predicate.Serialization.Method, st.Predicate.Serialization.HashType = "files", "sha256"
	if shards {
		st.Predicate.Serialization.Method, st.Predicate.Serialization.ShardSize = "shards", manifestShardSize
	}
	st.Predicate.Resources = resources
	h := sha256.New()
	for _, r := range resources {
		b, _ := hex.DecodeString(r.Digest)
		h.Write(b)
	}
	st.Subject = append(st.Subject, struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}{"model", map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))}})
	return &st
}

// checkManifest runs the steps of Verify after the signature: the statement's shape, the model
// on disk, the comparison. It fails t if the serialization holds a path that is not a file
// of the model.
func checkManifest(t testing.TB, dir string, digests map[string]string, st *statement) string {
	_, reason := st.check()
	if reason != "" {
		return reason
	}
	local, reason := serialize(context.Background(), Model{Root: filepath.Join(dir, "model"), Signature: filepath.Join(dir, "model.sig")}, st)
	if reason != "" {
		t.Fatalf("serializing the model: %s", reason)
	}
	for rel, d := range local {
		if digests[rel] != d {
			t.Fatalf("serialized %q (%s): not a file of the model", rel, d)
		}
	}
	return compare(local, st)
}

func TestManifestHostileNames(t *testing.T) {
	dir, digests := manifestModel(t)
	secret := sha256.Sum256([]byte("outside the model"))
	exact := func(edit func([]resource) []resource) []resource {
		var rs []resource
		for name, d := range digests {
			rs = append(rs, resource{name, "sha256", d})
		}
		return edit(rs)
	}
	for _, c := range []struct {
		name      string
		resources []resource
		reason    string // "" when accepted
	}{
		{"exact", exact(func(rs []resource) []resource { return rs }), ""},
		{"duplicate, same digest", exact(func(rs []resource) []resource { return append(rs, rs[0]) }), "listed more than once"},
		{"duplicate, other digest", exact(func(rs []resource) []resource {
			return append(rs, resource{rs[0].Name, "sha256", strings.Repeat("ab", 32)})
		}), "listed more than once"},
		{"file outside the model", exact(func(rs []resource) []resource {
			return append(rs, resource{"../secret", "sha256", hex.EncodeToString(secret[:])})
		}), `missing: "../secret"`},
		{"absolute path", exact(func(rs []resource) []resource {
			return append(rs, resource{filepath.ToSlash(filepath.Join(dir, "secret")), "sha256", hex.EncodeToString(secret[:])})
		}), "missing: "},
		{"dot segment instead of the name", exact(func(rs []resource) []resource {
			for i := range rs {
				if rs[i].Name == "config.json" {
					rs[i].Name = "./config.json"
				}
			}
			return rs
		}), `missing: "./config.json"`},
		{"NUL in a name", exact(func(rs []resource) []resource {
			return append(rs, resource{"config.json\x00.txt", "sha256", digests["config.json"]})
		}), "missing: "},
		{"NFD for an NFC name", exact(func(rs []resource) []resource {
			for i := range rs {
				if rs[i].Name == "caf\u00e9.txt" {
					rs[i].Name = "cafe\u0301.txt"
				}
			}
			return rs
		}), "not signed: \"caf\u00e9.txt\""},
		{"one of two names differing by case", exact(func(rs []resource) []resource {
			var out []resource
			for _, r := range rs {
				if r.Name != "Tokenizer/vocab.json" {
					out = append(out, r)
				}
			}
			return out
		}), `not signed: "Tokenizer/vocab.json"`},
		{"very long name", exact(func(rs []resource) []resource {
			return append(rs, resource{strings.Repeat("a/", 1<<15), "sha256", digests["config.json"]})
		}), "missing: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			reason := checkManifest(t, dir, digests, filesStatement(c.resources))
			if (c.reason == "") != (reason == "") || !strings.Contains(reason, c.reason) {
				t.Fatalf("reason %q, want %q", reason, c.reason)
			}
			if len(reason) > 2048 {
				t.Errorf("reason of %d bytes", len(reason))
			}
		})
	}
}

// FuzzManifest fuzzes the statement a trusted signer signed (as if the signer were hostile or
// careless) against a model on disk, past the signature, in either serialization (files, or
// shards with names "path:start:end"): one resource name per line of names,
// digests taken from the model (useModelDigests) or a pool from digestAt. Properties: no
// panic; the model is accepted only if the manifest lists each of its files exactly once with
// its digest, and nothing else; the serialization holds only files of the model, whatever the
// names (../, absolute, NUL, case and Unicode variants).
func FuzzManifest(f *testing.F) {
	dir, digests := manifestModel(f)
	secret := sha256.Sum256([]byte("outside the model"))
	pool := []string{hex.EncodeToString(secret[:]), strings.Repeat("0", 64)}
	var all strings.Builder
	for rel, d := range digests {
		pool = append(pool, d)
		all.WriteString(rel + "\n")
	}
	var allShards strings.Builder
	for name := range shardDigests(digests) {
		allShards.WriteString(name + "\n")
	}
	f.Add(all.String(), byte(0), true, false)
	f.Add(all.String()+"config.json\n", byte(0), true, false)
	f.Add("../secret\n/"+filepath.ToSlash(filepath.Join(dir, "secret"))+"\nmodel.safetensors\nmodel.safetensors\n", byte(0), false, false)
	f.Add("./config.json\nconfig.json\x00\ncafe\u0301.txt\n\u03a9.txt\ntokenizer/vocab.json\n", byte(1), false, false)
	f.Add(allShards.String(), byte(0), true, true)
	f.Add(strings.ReplaceAll(allShards.String(), ":0:", ":00:"), byte(0), true, true)
	f.Add("model.safetensors:0:7\nmodel.safetensors:0:3\nmodel.safetensors:3:7\n../secret:0:17\n", byte(2), true, true)
	f.Fuzz(func(t *testing.T, names string, digestAt byte, useModelDigests, shards bool) {
		digests := digests
		if shards {
			digests = shardDigests(digests)
		}
		var rs []resource
		counts := map[string]int{}
		for i, name := range strings.Split(names, "\n") {
			if name == "" || len(rs) >= 64 {
				continue
			}
			d := pool[(int(digestAt)+i)%len(pool)]
			if want, ok := digests[name]; ok && useModelDigests {
				d = want
			}
			counts[name]++
			rs = append(rs, resource{name, "sha256", d})
		}
		reason := checkManifest(t, dir, digests, manifestStatement(rs, shards))
		exact := len(counts) == len(digests)
		for _, r := range rs {
			exact = exact && counts[r.Name] == 1 && r.Digest == digests[r.Name]
		}
		if (reason == "") != exact {
			t.Fatalf("accepted=%v, manifest matches the model exactly=%v: %s\n%q", reason == "", exact, reason, names)
		}
	})
}

// TestHostileSizes: signature files near the size limit that decode into far more than their
// bytes (millions of empty resources, subjects or log entries, deep nesting) are refused before
// they are decoded, with memory bounded by a small multiple of the file.
func TestHostileSizes(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	tinyModel(t, model, 1)
	v := verifier(t, filepath.Join("testdata", "seed", "key.pub.pem"))
	payload := func(stmt string) string {
		return `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},` +
			`"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}],"payload":"` +
			base64.StdEncoding.EncodeToString([]byte(stmt)) + `"}}`
	}
	many := strings.Repeat(`{},`, 3<<20) + `{}`
	for name, body := range map[string]string{
		"empty resources": payload(`{"predicate":{"resources":[` + many + `]}}`),
		"empty subjects":  payload(`{"subject":[` + many + `]}`),
		"ignore paths":    payload(`{"predicate":{"serialization":{"ignore_paths":[` + strings.Repeat(`"",`, 3<<20) + `""]}}}`),
		"log entries":     `{"verificationMaterial":{"tlogEntries":[` + strings.Repeat(`{},`, 5<<20) + `{}]}}`,
		"deep nesting":    strings.Repeat(`{"a":[`, 2<<20),
	} {
		t.Run(name, func(t *testing.T) {
			if len(body) > maxBundle {
				t.Fatalf("%d bytes: over the signature limit, not a test of decoding", len(body))
			}
			sig := filepath.Join(dir, "model.sig")
			write(t, sig, []byte(body))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := v.Verify(context.Background(), Model{Root: model, Signature: sig})
			runtime.ReadMemStats(&after)
			if r.Status != Invalid || !strings.Contains(r.Reason, "JSON values") {
				t.Fatalf("%+v", r)
			}
			// A few times the file (read, base64-decoded, scanned; more under -race); the
			// unchecked decoding allocated about 80 times.
			t.Logf("allocated %d MB for a signature file of %d MB", (after.TotalAlloc-before.TotalAlloc)>>20, len(body)>>20)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*uint64(len(body)) {
				t.Errorf("allocated %d MB for a signature file of %d MB", alloc>>20, len(body)>>20)
			}
		})
	}
}

// TestAmbiguousStatement: a signed statement two JSON readers would read differently (a key
// repeated, or repeated but for case, which Go matches and Python does not) is refused.
func TestAmbiguousStatement(t *testing.T) {
	for _, c := range []struct {
		stmt      string
		ambiguous bool
	}{
		{`{"_type":"a","predicate":{"resources":[{"name":"x"}]},"subject":[]}`, false},
		{`{"predicate":{"resources":[]},"Predicate":{"resources":[{"name":"x"}]}}`, true},
		{`{"predicate":{"resources":[{"name":"x","Name":"y"}]}}`, true},
		{`{"predicate":{"resources":[{"name":"x"},{"name":"x"}]}}`, false}, // the same key in two objects
		{`{"subject":[{"digest":{"sha256":"a","SHA256":"b"}}]}`, true},
		{`{"\u017fubject":[],"subject":[]}`, true}, // LATIN SMALL LETTER LONG S folds to s
		{`{"a":[{"b":1},{"b":2}],"b":{"a":1}}`, false},
		{`{"a":1,"a":1}`, true},
	} {
		if got := ambiguousKeys([]byte(c.stmt)) != ""; got != c.ambiguous {
			t.Errorf("%s: ambiguous %v, want %v", c.stmt, got, c.ambiguous)
		}
	}
	// Through Verify: a statement signed with a case variant of "predicate" is not read.
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	tinyModel(t, model, 1)
	raw := rewrap(t, readSeed(t, "files.sig"), func(st map[string]any) { st["PREDICATE"] = st["predicate"] })
	v := verifier(t, filepath.Join("testdata", "seed", "key.pub.pem"))
	if r := v.verifyBytes(context.Background(), raw, Model{Root: model}); r.Status != Invalid || !strings.Contains(r.Reason, "same to some JSON readers") {
		t.Fatalf("%+v", r)
	}
}
