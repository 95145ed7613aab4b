package modelsig

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// Keyless signing is tested against sigstore-go's VirtualSigstore: a Fulcio CA that issues a
// short-lived leaf certificate for an identity and OIDC issuer (e-mail SAN and the Fulcio
// issuer extension), a Rekor log that signs an inclusion promise for the DSSE entry, and a
// timestamp authority. The bundle it yields is written as a Sigstore bundle file and its trusted
// root as trusted_root.json, so Verify reads both from disk as it does in production; nothing
// is fetched.

const (
	kIdentity = "release-bot@example.com"
	kIssuer   = "https://accounts.example.com"
)

// statementFor builds the model-signing v1.0 statement of a model with the files method, from
// this package's own serialization of the model (listing and hashing as the verifier does).
func statementFor(t *testing.T, model string) []byte {
	t.Helper()
	var st statement
	st.Predicate.Serialization.Method = "files"
	st.Predicate.Serialization.HashType = "sha256"
	local, reason := serialize(context.Background(), Model{Root: model, Signature: filepath.Join(model, "model.sig")}, &st)
	if reason != "" {
		t.Fatal(reason)
	}
	names := make([]string, 0, len(local))
	for n := range local {
		names = append(names, n)
	}
	sort.Strings(names)
	type resource struct {
		Name      string `json:"name"`
		Algorithm string `json:"algorithm"`
		Digest    string `json:"digest"`
	}
	var resources []resource
	h := sha256.New()
	for _, n := range names {
		resources = append(resources, resource{n, "sha256", local[n]})
		d, _ := hex.DecodeString(local[n])
		h.Write(d)
	}
	out, err := json.Marshal(map[string]any{
		"_type":         statementType,
		"predicateType": PredicateType,
		"subject":       []any{map[string]any{"name": filepath.Base(model), "digest": map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))}}},
		"predicate": map[string]any{
			"serialization": map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": false, "ignore_paths": []string{}},
			"resources":     resources,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// keylessBundle has the virtual Sigstore sign the statement for identity and issuer and writes
// the result as a v0.3 Sigstore bundle (certificate, Rekor entry with its signed promise,
// RFC 3161 timestamp, DSSE envelope), the shape model-signing writes for keyless signatures.
func keylessBundle(t *testing.T, vs *ca.VirtualSigstore, identity, issuer string, stmt []byte, path string) {
	t.Helper()
	// Bundles v0.2 and later carry an inclusion proof; the certificate is valid from now for
	// ten minutes and Attest logs the entry five minutes in, so this does too.
	ent, err := vs.AttestAtTime(identity, issuer, stmt, time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	env := sc.(*bundle.Envelope).RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			t.Fatal(err)
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}
	entries, err := ent.TlogEntries()
	if err != nil {
		t.Fatal(err)
	}
	var tles []*protorekor.TransparencyLogEntry
	for _, e := range entries {
		// The helper keeps the entry's kind and signed promise outside its protobuf form: put
		// them in, the promise signed again by the same virtual Rekor key over the same payload.
		tle := e.TransparencyLogEntry()
		var kv struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(tle.CanonicalizedBody, &kv); err != nil {
			t.Fatal(err)
		}
		tle.KindVersion = &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion}
		set, err := vs.RekorSignPayload(tlog.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
			IntegratedTime: tle.IntegratedTime,
			LogIndex:       tle.LogIndex,
			LogID:          hex.EncodeToString(tle.LogId.KeyId),
		})
		if err != nil {
			t.Fatal(err)
		}
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
		tles = append(tles, tle)
	}
	tsrs, err := ent.Timestamps()
	if err != nil {
		t.Fatal(err)
	}
	tvd := &protobundle.TimestampVerificationData{}
	for _, ts := range tsrs {
		tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries:               tles,
			TimestampVerificationData: tvd,
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe},
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, out)
}

// trustedRootFile writes a trusted_root.json with the virtual Sigstore's Fulcio CA, Rekor log,
// CT log and timestamp authority, and fulcio's certificate authority (vs's own, or another
// instance's for a root that does not hold the CA that issued the certificate).
func trustedRootFile(t *testing.T, vs *ca.VirtualSigstore, fulcio *ca.VirtualSigstore, path string) []byte {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, fulcio.FulcioCertificateAuthorities(), rawLogIDs(t, vs.CTLogs()), vs.TimestampingAuthorities(), rawLogIDs(t, vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, b)
	// The verifier is given the file's bytes, as the policy reads trusted_root from disk.
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawLogIDs gives each log its id as bytes: the helper keeps the hex text (it is used as
// trusted material directly in sigstore-go's tests), which trusted_root.json would carry as
// bytes and a reader would hex-encode again.
func rawLogIDs(t *testing.T, logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	t.Helper()
	out := make(map[string]*root.TransparencyLog, len(logs))
	for id, l := range logs {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c := *l
		c.ID = raw
		out[id] = &c
	}
	return out
}

func TestKeyless(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ca.NewVirtualSigstore() // another Sigstore instance: its CA is not trusted
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	tinyModel(t, base, 2)
	keylessBundle(t, vs, kIdentity, kIssuer, statementFor(t, base), filepath.Join(base, "model.sig"))

	trusted := trustedRootFile(t, vs, vs, filepath.Join(dir, "trusted_root.json"))
	otherCA := trustedRootFile(t, vs, stranger, filepath.Join(dir, "other_ca.json"))
	foreign := trustedRootFile(t, stranger, stranger, filepath.Join(dir, "foreign.json"))

	newV := func(rootJSON []byte, ids ...Identity) *Verifier {
		v, err := NewVerifier(Config{TrustedRoot: rootJSON, Identities: ids})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := Identity{Identity: kIdentity, Issuer: kIssuer}
	for i, c := range []struct {
		name   string
		v      *Verifier
		tamper func(model string)
		want   Status
		reason string
	}{
		{name: "valid", v: newV(trusted, want), want: Valid},
		{name: "valid among others", v: newV(trusted, Identity{"someone@example.com", kIssuer}, want), want: Valid},
		{name: "wrong identity", v: newV(trusted, Identity{"someone@example.com", kIssuer}), want: Untrusted, reason: "not among the trusted identities"},
		{name: "wrong issuer", v: newV(trusted, Identity{kIdentity, "https://issuer.example.org"}), want: Untrusted, reason: "not among the trusted identities"},
		{name: "identity is exact", v: newV(trusted, Identity{"bot@example.com", kIssuer}), want: Untrusted, reason: "not among the trusted identities"},
		{name: "root without the CA", v: newV(otherCA, want), want: Untrusted, reason: "certificate not issued by a certificate authority of the trusted root"},
		{name: "foreign root", v: newV(foreign, want), want: Untrusted, reason: "certificate not issued by a certificate authority of the trusted root"},
		{name: "changed file", v: newV(trusted, want), want: Invalid, reason: `changed: "model.safetensors"`, tamper: func(m string) {
			p := filepath.Join(m, "model.safetensors")
			b, _ := os.ReadFile(p)
			b[100] ^= 1
			write(t, p, b)
		}},
		{name: "added file", v: newV(trusted, want), want: Invalid, reason: `not signed: "run.py"`, tamper: func(m string) {
			write(t, filepath.Join(m, "run.py"), []byte("import os"))
		}},
		{name: "statement edited", v: newV(trusted, want), want: Invalid, tamper: func(m string) {
			// The same bundle with another statement in the envelope: the signature no longer covers it.
			p := filepath.Join(m, "model.sig")
			var pb protobundle.Bundle
			b, _ := os.ReadFile(p)
			if err := protojson.Unmarshal(b, &pb); err != nil {
				t.Fatal(err)
			}
			pl := pb.GetDsseEnvelope().Payload
			pb.GetDsseEnvelope().Payload = []byte(strings.Replace(string(pl), `"allow_symlinks":false`, `"allow_symlinks":true`, 1))
			out, _ := protojson.Marshal(&pb)
			write(t, p, out)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			model := filepath.Join(dir, "m"+string(rune('a'+i)))
			if err := os.CopyFS(model, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				c.tamper(model)
			}
			r := c.v.Verify(context.Background(), Model{Root: model, Signature: filepath.Join(model, "model.sig")})
			if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
				t.Fatalf("got %s (%s), want %s (%q)", r.Status, r.Reason, c.want, c.reason)
			}
			// The signer recorded is the certificate's identity, whatever the outcome.
			if r.Signer != kIdentity {
				t.Errorf("signer %q, want %q", r.Signer, kIdentity)
			}
			if r.Status == Valid && (r.Method != "files" || r.Reason != "") {
				t.Errorf("valid result %+v", r)
			}
		})
	}
}

// TestKeylessModelSigningStatement signs, keyless, the statement that the real model-signing
// package writes for a model (taken from a bundle it signed with a key), so the manifest under
// the keyless signature is the reference implementation's, not this package's.
func TestKeylessModelSigningStatement(t *testing.T) {
	py := venvPython(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, _ := keyPair(t, dir, "k")
	for _, method := range []string{"files", "shards"} {
		t.Run(method, func(t *testing.T) {
			model := filepath.Join(dir, method)
			tinyModel(t, model, 4)
			keyed := filepath.Join(dir, method+".keyed.sig")
			sign(t, py, model, priv, keyed, method)
			var pb protobundle.Bundle
			b, err := os.ReadFile(keyed)
			if err != nil {
				t.Fatal(err)
			}
			if err := protojson.Unmarshal(b, &pb); err != nil {
				t.Fatal(err)
			}
			sig := filepath.Join(model, "model.sig")
			keylessBundle(t, vs, kIdentity, kIssuer, pb.GetDsseEnvelope().GetPayload(), sig)
			v, err := NewVerifier(Config{TrustedRoot: trustedRootFile(t, vs, vs, filepath.Join(dir, "root.json")), Identities: []Identity{{kIdentity, kIssuer}}})
			if err != nil {
				t.Fatal(err)
			}
			if r := v.Verify(context.Background(), Model{Root: model, Signature: sig}); r.Status != Valid || r.Signer != kIdentity || r.Method != method {
				t.Fatalf("%+v", r)
			}
			write(t, filepath.Join(model, "config.json"), []byte(`{"seed":5}`))
			if r := v.Verify(context.Background(), Model{Root: model, Signature: sig}); r.Status != Invalid {
				t.Fatalf("changed file: %+v", r)
			}
		})
	}
}
