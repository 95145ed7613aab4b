// Package modelsig verifies OpenSSF Model Signing v1.0 signatures (the `model-signing` PyPI
// package's format) on a model on disk, offline.
//
// A signature is a Sigstore bundle whose DSSE envelope carries an in-toto statement with
// predicate type https://model_signing/signature/v1.0. The predicate lists every file (method
// "files") or every fixed-size shard of every file (method "shards", names "path:start:end")
// with its SHA-256, and the subject digest is the SHA-256 over those digests in the order
// listed. Verification here:
//
//  1. reads the statement and checks that its resources hash to its subject digest;
//  2. has sigstore-go verify the bundle (DSSE signature, and for keyless bundles the
//     certificate chain against a trusted root file, the transparency log entry and the
//     signer's identity and issuer) with that digest as the artifact digest;
//  3. serializes the model on disk the way the statement says (method, shard size, ignored
//     paths, symlinks) and compares every file or shard: none extra, missing or changed.
//
// sigstore-go does the bundle and DSSE; the manifest logic is this package's. File digests of
// the "files" method come from the caller (the digest it already computed for the model), so
// each file is hashed once; shards are hashed here, in parallel.
package modelsig

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Status is the outcome of a verification (mlx.model.signature.status).
type Status string

// Statuses.
const (
	// Valid: a trusted signer signed exactly the files on disk.
	Valid Status = "valid"
	// Invalid: the signature, the statement or the model does not check out (a bad signature,
	// a changed, added or removed file, a bundle for another model, a malformed bundle).
	Invalid Status = "invalid"
	// Missing: no signature file.
	Missing Status = "missing"
	// Untrusted: a signer that is not trusted (unknown key, identity or issuer not listed,
	// certificate not from the trusted root).
	Untrusted Status = "untrusted"
)

// Predicate types and payload types of the specification.
const (
	PredicateType     = "https://model_signing/signature/v1.0"
	inTotoPayloadType = "application/vnd.in-toto+json"
	statementType     = "https://in-toto.io/Statement/v1"
)

// Limits on what a signature and a model may expand to.
const (
	maxBundle = 16 << 20 // bytes of the signature file
	// maxResources bounds the files or shards listed, and the shards a model is cut into: a
	// signature file of maxBundle bytes holds about 100,000 real resources (name, 64 hex
	// digits, algorithm), so no larger list can come from a real signature.
	maxResources = 1 << 17
	maxFiles     = 10_000 // files walked in the model (artifact's bound)
	maxDepth     = 16
	minShardSize = 1 << 10 // smaller shards would turn a large file into millions of hashes
	// JSON values (counted as objects, arrays and elements) a bundle and its statement may hold
	// before they are decoded. Decoding allocates per value far more than the value's bytes
	// ("{}," is 3 bytes and a 48-byte resource), so a 12 MB statement of empty resources costs a
	// gigabyte: the count is checked first. A bundle is a few dozen values (keyless: certificate
	// chain and log entries); a resource is four.
	maxBundleValues    = 1 << 12
	maxStatementValues = 4*maxResources + 1<<10
	// maxReason bounds Result.Reason: it quotes parts of the bundle and errors that quote it.
	maxReason = 1 << 10
)

// Identity is a keyless signer: the certificate's subject alternative name and the OIDC
// issuer, both exact.
type Identity struct {
	Identity string
	Issuer   string
}

// Config is what a verifier trusts.
type Config struct {
	// PublicKeys are PEM public keys (ECDSA P-256/384/521, RSA, Ed25519) of trusted signers.
	PublicKeys [][]byte
	// TrustedRoot is a Sigstore trusted root (trusted_root.json), for keyless signatures.
	TrustedRoot []byte
	// Identities are the keyless signers trusted (with TrustedRoot).
	Identities []Identity
}

type trustedKey struct {
	id string // hex SHA-256 of the PEM public key, as model-signing writes the bundle hint
	v  signature.Verifier
}

// Verifier verifies signatures against one Config. It is safe for concurrent use.
type Verifier struct {
	keys       []trustedKey
	keyless    root.TrustedMaterial
	identities []verify.CertificateIdentity
	idNames    []Identity
}

// NewVerifier parses the trusted keys and root.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{}
	for i, p := range cfg.PublicKeys {
		k, err := parseKey(p)
		if err != nil {
			return nil, fmt.Errorf("public key %d: %w", i+1, err)
		}
		v.keys = append(v.keys, k)
	}
	if len(cfg.TrustedRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(cfg.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("trusted root: %w", err)
		}
		v.keyless = tr
	}
	for _, id := range cfg.Identities {
		if id.Identity == "" || id.Issuer == "" {
			return nil, errors.New("a keyless identity needs both identity and issuer")
		}
		ci, err := verify.NewShortCertificateIdentity(id.Issuer, "", id.Identity, "")
		if err != nil {
			return nil, err
		}
		v.identities = append(v.identities, ci)
		v.idNames = append(v.idNames, id)
	}
	if len(v.identities) > 0 && v.keyless == nil {
		return nil, errors.New("keyless identities need a trusted root")
	}
	if len(v.keys) == 0 && len(v.identities) == 0 {
		return nil, errors.New("no public key and no keyless identity: nothing could be trusted")
	}
	return v, nil
}

// KeyID is the id model-signing gives a public key: hex SHA-256 of its PEM (SubjectPublicKeyInfo).
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(s[:]), nil
}

func parseKey(p []byte) (trustedKey, error) {
	blk, _ := pem.Decode(p)
	if blk == nil {
		return trustedKey{}, errors.New("not PEM")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return trustedKey{}, fmt.Errorf("not a PEM public key (SubjectPublicKeyInfo): %w", err)
	}
	var sv signature.Verifier
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		h := crypto.SHA256
		switch k.Curve.Params().BitSize {
		case 384:
			h = crypto.SHA384
		case 521:
			h = crypto.SHA512
		}
		sv, err = signature.LoadECDSAVerifier(k, h)
	case *rsa.PublicKey:
		sv, err = signature.LoadRSAPKCS1v15Verifier(k, crypto.SHA256)
	case ed25519.PublicKey:
		sv, err = signature.LoadED25519Verifier(k)
	default:
		return trustedKey{}, fmt.Errorf("unsupported key type %T", pub)
	}
	if err != nil {
		return trustedKey{}, err
	}
	id, err := KeyID(pub)
	return trustedKey{id: id, v: sv}, err
}

// Result is one verification's outcome.
type Result struct {
	Status Status
	// Signer is the key id ("key:<hex>") or the keyless identity that signed, when known.
	Signer string
	// Method is the manifest's serialization: files or shards.
	Method string
	// Reason says what failed, for people (empty when valid).
	Reason string
}

// Model is the model on disk to verify.
type Model struct {
	// Root is the model path: a directory, or one file.
	Root string
	// Signature is the signature file (a Sigstore bundle, JSON).
	Signature string
	// FileDigest returns the hex SHA-256 of a file of the model (slash-separated path
	// relative to Root; "." for a one-file model) when the caller has it, so it is not hashed
	// twice. May be nil.
	FileDigest func(rel string) (string, bool)
}

func fail(st Status, format string, args ...any) Result {
	return Result{Status: st, Reason: fmt.Sprintf(format, args...)}
}

// statement is the part of the in-toto statement the predicate defines.
type statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		Serialization struct {
			Method        string   `json:"method"`
			HashType      string   `json:"hash_type"`
			AllowSymlinks bool     `json:"allow_symlinks"`
			ShardSize     float64  `json:"shard_size"` // a JSON number; protobuf writes 2048.0
			IgnorePaths   []string `json:"ignore_paths"`
		} `json:"serialization"`
		Resources []struct {
			Name      string `json:"name"`
			Algorithm string `json:"algorithm"`
			Digest    string `json:"digest"`
		} `json:"resources"`
	} `json:"predicate"`
}

// Verify checks the model against its signature. It never returns Valid unless every step
// passed; ctx cancels the hashing of shards. Reason and Signer quote the signature file, which
// comes from outside: they are bounded here, and the caller escapes them before recording.
func (v *Verifier) Verify(ctx context.Context, m Model) Result {
	raw, err := readBounded(m.Signature, maxBundle)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(Missing, "no signature file")
	}
	if err != nil {
		return fail(Invalid, "reading the signature: %v", clip(err.Error()))
	}
	return v.verifyBytes(ctx, raw, m)
}

// verifyBytes verifies the signature file's contents raw.
func (v *Verifier) verifyBytes(ctx context.Context, raw []byte, m Model) Result {
	res := v.verify(ctx, bytes.TrimSpace(raw), m)
	res.Reason = clipN(res.Reason, maxReason)
	res.Signer = clip(res.Signer)
	return res
}

func (v *Verifier) verify(ctx context.Context, raw []byte, m Model) Result {
	if n := jsonValues(raw); n > maxBundleValues {
		return fail(Invalid, "the signature holds more than %d JSON values: not a Sigstore bundle", maxBundleValues)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fail(Invalid, "the signature is not a Sigstore bundle: %v", err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return fail(Invalid, "the bundle holds no DSSE envelope")
	}
	if env.PayloadType != inTotoPayloadType {
		return fail(Invalid, "DSSE payload type %q, want %q", clip(env.PayloadType), inTotoPayloadType)
	}
	if n := jsonValues(env.Payload); n > maxStatementValues {
		return fail(Invalid, "the DSSE payload holds more than %d JSON values: more resources than a model may have", maxStatementValues)
	}
	if reason := ambiguousKeys(env.Payload); reason != "" {
		return fail(Invalid, "the DSSE payload is not an in-toto statement: %s", reason)
	}
	var st statement
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		return fail(Invalid, "the DSSE payload is not an in-toto statement: %v", err)
	}
	rootDigest, reason := st.check()
	if reason != "" {
		return fail(Invalid, "%s", reason)
	}
	res := Result{Method: st.Predicate.Serialization.Method}

	// The signature: a trusted signer over this statement.
	res.Status, res.Signer, res.Reason = v.verifyBundle(&b, rootDigest)
	if res.Status != Valid {
		return res
	}

	// The model on disk against the statement.
	local, reason := serialize(ctx, m, &st)
	if reason != "" {
		res.Status, res.Reason = Invalid, reason
		return res
	}
	if reason := compare(local, &st); reason != "" {
		res.Status, res.Reason = Invalid, reason
	}
	return res
}

// check validates the statement's shape and returns the subject digest it must be signed for.
func (st *statement) check() ([]byte, string) {
	switch {
	case st.Type != statementType:
		return nil, fmt.Sprintf("statement type %q, want %q", clip(st.Type), statementType)
	case st.PredicateType != PredicateType:
		return nil, fmt.Sprintf("predicate type %q, want %q", clip(st.PredicateType), PredicateType)
	case len(st.Subject) != 1:
		return nil, fmt.Sprintf("%d subjects, want 1", len(st.Subject))
	case len(st.Predicate.Resources) > maxResources:
		return nil, fmt.Sprintf("%d resources exceed the limit of %d", len(st.Predicate.Resources), maxResources)
	}
	s := st.Predicate.Serialization
	if s.HashType != "sha256" {
		return nil, fmt.Sprintf("hash type %q is not supported (sha256 only)", clip(s.HashType))
	}
	switch s.Method {
	case "files":
	case "shards":
		if s.ShardSize < minShardSize || s.ShardSize > 1<<40 || s.ShardSize != float64(int64(s.ShardSize)) {
			return nil, fmt.Sprintf("shard size %v is not a whole number of bytes between %d and 2^40", s.ShardSize, minShardSize)
		}
	default:
		return nil, fmt.Sprintf("serialization method %q is not files or shards", clip(s.Method))
	}
	// model-signing names the shard digests' algorithm after the shard size.
	alg := "sha256"
	if s.Method == "shards" {
		alg = fmt.Sprintf("sha256-sharded-%d", int64(s.ShardSize))
	}
	// A name listed twice is ambiguous: model-signing keeps the last digest (a dict), another
	// reader could keep the first, and the subject digest covers both. Refuse it.
	seen := make(map[string]struct{}, len(st.Predicate.Resources))
	h := sha256.New()
	for _, r := range st.Predicate.Resources {
		d, err := hex.DecodeString(r.Digest)
		if (r.Algorithm != alg && r.Algorithm != "sha256") || err != nil || len(d) != sha256.Size {
			return nil, fmt.Sprintf("resource %q has no valid sha256 digest", clip(r.Name))
		}
		if _, dup := seen[r.Name]; dup {
			return nil, fmt.Sprintf("resource %q is listed more than once", clip(r.Name))
		}
		seen[r.Name] = struct{}{}
		h.Write(d)
	}
	sum := h.Sum(nil)
	if want := st.Subject[0].Digest["sha256"]; want != hex.EncodeToString(sum) {
		return nil, "the statement's resources do not hash to its subject digest"
	}
	return sum, ""
}

// verifyBundle has sigstore-go verify the bundle: by a trusted key when the bundle carries a
// public key hint (or no certificate), by the trusted root and identities otherwise.
func (v *Verifier) verifyBundle(b *bundle.Bundle, digest []byte) (Status, string, string) {
	artifact := verify.WithArtifactDigest("sha256", digest)
	vc, err := b.VerificationContent()
	if err != nil {
		return Invalid, "", "bundle verification material: " + err.Error()
	}
	if cert := vc.Certificate(); cert != nil {
		if v.keyless == nil || len(v.identities) == 0 {
			return Untrusted, "", "the bundle is signed keyless and no keyless identity is trusted"
		}
		signer := "identity unknown"
		if sum, err := certSummary(cert); err == nil {
			signer = sum
		}
		ver, err := verify.NewVerifier(v.keyless, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
		if err != nil {
			return Invalid, signer, err.Error()
		}
		for _, id := range v.identities {
			if _, err := ver.Verify(b, verify.NewPolicy(artifact, verify.WithCertificateIdentity(id))); err == nil {
				return Valid, signer, ""
			}
		}
		// Tell a signer that is not trusted from a signature that does not verify. A certificate
		// that no CA of the trusted root issued is an untrusted signer, whatever else fails with
		// it (a log or timestamp authority of another Sigstore instance comes with it), so that
		// is asked first, at the start of the certificate's validity as Fulcio issues it then.
		if _, err := verify.VerifyLeafCertificate(cert.NotBefore, cert, v.keyless); err != nil {
			return Untrusted, signer, "certificate not issued by a certificate authority of the trusted root"
		}
		_, err = ver.Verify(b, verify.NewPolicy(artifact, verify.WithoutIdentitiesUnsafe()))
		if err == nil {
			return Untrusted, signer, "the certificate's identity and issuer are not among the trusted identities"
		}
		if strings.Contains(err.Error(), "certificate") {
			return Untrusted, signer, "certificate not trusted: " + err.Error()
		}
		return Invalid, signer, err.Error()
	}

	hint := ""
	if pk := vc.PublicKey(); pk != nil {
		hint = pk.Hint()
	}
	var candidates []trustedKey
	for _, k := range v.keys {
		if hint == "" || k.id == hint {
			candidates = append(candidates, k)
		}
	}
	if len(candidates) == 0 {
		return Untrusted, "key:" + clip(hint), "signed by a key that is not trusted"
	}
	var last error
	for _, k := range candidates {
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.v, time.Time{}, time.Time{}), nil
		})
		ver, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
		if err != nil {
			return Invalid, "", err.Error()
		}
		if _, err := ver.Verify(b, verify.NewPolicy(artifact, verify.WithKey())); err == nil {
			return Valid, "key:" + k.id, ""
		} else {
			last = err
		}
	}
	if hint == "" {
		return Untrusted, "", "no trusted key verifies the signature: " + last.Error()
	}
	return Invalid, "key:" + hint, "signature does not verify: " + last.Error()
}

func certSummary(c *x509.Certificate) (string, error) {
	for _, u := range c.URIs {
		return u.String(), nil
	}
	for _, e := range c.EmailAddresses {
		return e, nil
	}
	return "", errors.New("no SAN")
}

// serialize lists the model as the statement's serialization describes it and hashes what
// the caller has not hashed.
func serialize(ctx context.Context, m Model, st *statement) (map[string]string, string) {
	s := st.Predicate.Serialization
	rootAbs, err := filepath.Abs(m.Root)
	if err != nil {
		return nil, err.Error()
	}
	sigAbs, _ := filepath.Abs(m.Signature)
	ignored := []string{".git", ".gitattributes", ".github", ".gitignore"}
	for _, p := range s.IgnorePaths {
		p = path.Clean(filepath.ToSlash(p))
		if p != "." && !strings.HasPrefix(p, "../") && !path.IsAbs(p) {
			ignored = append(ignored, p)
		}
	}
	if rel, err := filepath.Rel(rootAbs, sigAbs); err == nil && !strings.HasPrefix(rel, "..") {
		ignored = append(ignored, filepath.ToSlash(rel))
	}
	files, reason := listFiles(rootAbs, s.AllowSymlinks, ignored)
	if reason != "" {
		return nil, reason
	}
	out := make(map[string]string, len(files))
	if s.Method == "files" {
		var mu sync.Mutex
		var todo []file
		for _, f := range files {
			if m.FileDigest != nil {
				if d, ok := m.FileDigest(f.rel); ok && d != "" {
					out[f.rel] = d
					continue
				}
			}
			todo = append(todo, f)
		}
		err := parallel(ctx, len(todo), func(i int) error {
			d, err := hashRange(todo[i].abs, 0, -1)
			mu.Lock()
			out[todo[i].rel] = d
			mu.Unlock()
			return err
		})
		if err != nil {
			return nil, "hashing: " + err.Error()
		}
		return out, ""
	}
	type shard struct {
		f          file
		start, end int64
	}
	var shards []shard
	size := int64(s.ShardSize)
	for _, f := range files {
		for start := int64(0); start < f.size; start += size {
			shards = append(shards, shard{f, start, min(start+size, f.size)})
			if len(shards) > maxResources {
				return nil, fmt.Sprintf("the model has more than %d shards of %d bytes", maxResources, size)
			}
		}
	}
	var mu sync.Mutex
	err = parallel(ctx, len(shards), func(i int) error {
		sh := shards[i]
		d, err := hashRange(sh.f.abs, sh.start, sh.end)
		mu.Lock()
		out[sh.f.rel+":"+strconv.FormatInt(sh.start, 10)+":"+strconv.FormatInt(sh.end, 10)] = d
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, "hashing: " + err.Error()
	}
	return out, ""
}

type file struct {
	rel, abs string
	size     int64
}

// listFiles walks the model the way model-signing's serializers do: every regular file below
// the root (dot files included), except ignored paths (a path and everything below it);
// symbolic links are an error unless the signature allows them, and are then followed.
func listFiles(rootAbs string, allowSymlinks bool, ignored []string) ([]file, string) {
	isIgnored := func(rel string) bool {
		for _, p := range ignored {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return true
			}
		}
		return false
	}
	fi, err := os.Lstat(rootAbs)
	if err != nil {
		return nil, err.Error()
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if !allowSymlinks {
			return nil, "the model path is a symbolic link and the signature does not allow symbolic links"
		}
		if fi, err = os.Stat(rootAbs); err != nil {
			return nil, err.Error()
		}
	}
	if !fi.IsDir() {
		return []file{{rel: ".", abs: rootAbs, size: fi.Size()}}, ""
	}
	var files []file
	var walk func(dir, rel string, depth int) string
	walk = func(dir, rel string, depth int) string {
		if depth > maxDepth {
			return fmt.Sprintf("the model is nested deeper than %d directories", maxDepth)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err.Error()
		}
		for _, e := range entries {
			r := e.Name()
			if rel != "" {
				r = rel + "/" + r
			}
			if isIgnored(r) {
				continue
			}
			abs := filepath.Join(dir, e.Name())
			info, err := e.Info()
			if err != nil {
				return err.Error()
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				if !allowSymlinks {
					return fmt.Sprintf("%q is a symbolic link and the signature does not allow symbolic links", clip(r))
				}
				if info, err = os.Stat(abs); err != nil {
					return err.Error()
				}
			}
			switch {
			case info.IsDir():
				if reason := walk(abs, r, depth+1); reason != "" {
					return reason
				}
			case info.Mode().IsRegular():
				if len(files) >= maxFiles {
					return fmt.Sprintf("the model has more than %d files", maxFiles)
				}
				files = append(files, file{rel: r, abs: abs, size: info.Size()})
			default:
				return fmt.Sprintf("%q is neither a file nor a directory", clip(r))
			}
		}
		return ""
	}
	if reason := walk(rootAbs, "", 0); reason != "" {
		return nil, reason
	}
	return files, ""
}

// compare reports the first differences between the model on disk and the statement.
func compare(local map[string]string, st *statement) string {
	signed := make(map[string]string, len(st.Predicate.Resources))
	for _, r := range st.Predicate.Resources {
		signed[r.Name] = r.Digest
	}
	var changed, added, removed []string
	for name, d := range local {
		want, ok := signed[name]
		switch {
		case !ok:
			added = append(added, name)
		case want != d:
			changed = append(changed, name)
		}
	}
	for name := range signed {
		if _, ok := local[name]; !ok {
			removed = append(removed, name)
		}
	}
	if len(changed)+len(added)+len(removed) == 0 {
		return ""
	}
	var parts []string
	for _, c := range []struct {
		what  string
		names []string
	}{{"changed", changed}, {"not signed", added}, {"missing", removed}} {
		if len(c.names) == 0 {
			continue
		}
		sort.Strings(c.names)
		shown := c.names[:min(3, len(c.names))]
		for i := range shown {
			shown[i] = strconv.Quote(clip(shown[i]))
		}
		s := c.what + ": " + strings.Join(shown, ", ")
		if n := len(c.names) - len(shown); n > 0 {
			s += fmt.Sprintf(" and %d more", n)
		}
		parts = append(parts, s)
	}
	return "the model differs from its signed manifest: " + strings.Join(parts, "; ")
}

// hashRange returns the hex SHA-256 of bytes [start, end) of a file (end < 0: to the end).
func hashRange(p string, start, end int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	var r io.Reader = f
	n := int64(1 << 20)
	if end >= 0 {
		r = io.NewSectionReader(f, start, end-start)
		n = min(n, max(end-start, 1))
	}
	if _, err := io.CopyBuffer(h, r, make([]byte, n)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parallel runs n jobs on up to GOMAXPROCS goroutines and returns the first error.
func parallel(ctx context.Context, n int, job func(int) error) error {
	workers := min(n, runtime.GOMAXPROCS(0))
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := job(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err = <-errs:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err == nil {
		err = <-errs
	}
	return err
}

func readBounded(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Sized from the file (io.ReadAll alone doubles its buffer up to twice the file); read
	// through the limit whatever the size said, for files that grow or lie (FIFOs, /proc).
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if fi.Size() > limit {
			return nil, fmt.Errorf("signature file larger than %d bytes", limit)
		}
		buf.Grow(int(fi.Size()) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("signature file larger than %d bytes", limit)
	}
	return b, nil
}

func clip(s string) string { return clipN(s, 128) }

// clipN cuts s to at most n bytes at a rune boundary, marking the cut.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// ambiguousKeys reports an object of JSON text with two keys equal but for case, or equal: Go
// matches keys to fields ignoring case (Unicode simple folding) and keeps the last of
// duplicates, model-signing (Python) matches exactly, so the two could read different
// manifests from one signed statement. Such a statement is refused rather than read one way.
func ambiguousKeys(b []byte) string {
	type frame struct {
		keys    map[string]string // folded key -> key as written; nil in an array
		keyNext bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return err.Error()
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			top := &stack[n-1]
			if top.keyNext {
				if k, ok := tok.(string); ok {
					f := strings.ToLower(strings.ToUpper(k))
					if prev, dup := top.keys[f]; dup {
						return fmt.Sprintf("keys %q and %q of one object are the same to some JSON readers", clip(prev), clip(k))
					}
					top.keys[f] = k
					top.keyNext = false
					continue
				}
			} else {
				top.keyNext = true // after this value, a key
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]string{}, keyNext: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// jsonValues counts the objects, arrays and elements of JSON text ('{', '[' and ',' outside
// strings), without decoding it: a bound on what decoding would allocate.
func jsonValues(b []byte) int {
	n, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '{' || c == '[' || c == ','):
			n++
		}
	}
	return n
}
