package otelmlx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/artifact"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/hfcache"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/modelsig"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/modelsource"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// Supply chain attribute keys (names in package mlxconv).
const (
	KeyModelScanSeverity    = attribute.Key(mlxconv.AttrModelScanSeverity)
	KeyModelScanGlobals     = attribute.Key(mlxconv.AttrModelScanGlobals)
	KeyModelSignatureStatus = attribute.Key(mlxconv.AttrModelSignatureStatus)
	KeyModelSignatureSigner = attribute.Key(mlxconv.AttrModelSignatureSigner)
	KeyModelBlobSHA256      = attribute.Key(mlxconv.AttrModelBlobSHA256)
	KeyModelFile            = attribute.Key(mlxconv.AttrModelFile)
)

// Supply chain event and rules.
const (
	EventSignatureInvalid = mlxconv.EventModelSignatureInvalid
	RuleSignatureRequired = mlxconv.RuleSignatureRequired
	RuleDigestHFBlob      = mlxconv.RuleDigestHFBlob
)

const (
	// maxScanGlobalsRecorded bounds mlx.model.scan.globals.
	maxScanGlobalsRecorded = 16
	// maxPickleFilesScanned bounds the files of one model scanned for pickle content.
	maxPickleFilesScanned = 256
)

// SignatureError is returned by Load when an enforcing policy requires a valid signature for
// the model and its signature is not valid; the caller's load function has not run. It
// unwraps to the *PolicyError of rule signature.required, so errors.As with *PolicyError
// finds it too.
type SignatureError struct {
	Model  string
	Status string // invalid, missing, untrusted
	Signer string
	Reason string
	policy *PolicyError
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("otelmlx: model %q: signature %s: %s", e.Model, e.Status, e.Reason)
}

// ErrorType is the error.type of a load refused for its signature.
func (e *SignatureError) ErrorType() string { return mlxconv.ErrorTypeSignatureInvalid }

func (e *SignatureError) Unwrap() error { return e.policy }

// scanInfo is what scanning the model's pickle content found.
type scanInfo struct {
	severity pickle.Severity
	globals  []pickle.Global
	complete bool
	reason   string // why the scan is not complete
}

// scanPickles grades the pickle content of the model: every file the sniffer found unsafe or
// pickle, and every zip archive whatever the sniffer concluded from its first members (a
// PyTorch checkpoint whose data.pkl is not the first member is still a pickle). Content that
// cannot be scanned to its end is graded critical: nothing after the fault was seen. It
// returns nil when the model holds no pickle content. A file unchanged since an earlier load
// is not scanned again: the inspector keeps each file's verdict with its digest.
func scanPickles(insp *artifact.Inspector, m *artifact.Manifest) *scanInfo {
	var si *scanInfo
	scanned := 0
	for i, f := range m.Files {
		claimed := f.Sniff.Unsafe || f.Sniff.Format == sniff.Pickle
		if !claimed && f.Sniff.Format != sniff.NPZ && !(f.Sniff.Format == sniff.Unknown && isZip(fileAbs(m, f))) {
			continue
		}
		if scanned++; scanned > maxPickleFilesScanned {
			si = orNew(si)
			si.complete, si.severity = false, pickle.SeverityCritical
			si.reason = fmt.Sprintf("more than %d files hold pickle content", maxPickleFilesScanned)
			break
		}
		rep, err := insp.PickleScan(m, i)
		if err != nil {
			si = orNew(si)
			si.complete, si.severity = false, pickle.SeverityCritical
			si.reason = f.Rel + ": " + err.Error()
			continue
		}
		if rep.Streams == 0 && rep.Err == nil && !claimed {
			continue // an archive without pickle content
		}
		si = orNew(si)
		si.severity = max(si.severity, rep.Severity)
		si.globals = mergeGlobals(si.globals, rep.Globals)
		switch {
		case rep.Err != nil:
			si.complete, si.severity = false, pickle.SeverityCritical
			si.reason = f.Rel + ": " + rep.Err.Error()
		case rep.Streams == 0:
			// The sniffer calls it unsafe, but no stream was found to grade.
			si.complete, si.severity = false, pickle.SeverityCritical
			si.reason = f.Rel + ": no pickle stream found to grade"
		}
	}
	if si != nil {
		sort.SliceStable(si.globals, func(i, j int) bool { return si.globals[i].Severity > si.globals[j].Severity })
	}
	return si
}

func orNew(si *scanInfo) *scanInfo {
	if si == nil {
		return &scanInfo{complete: true}
	}
	return si
}

// isZip reports whether a file starts with a zip signature.
func isZip(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [4]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return string(h[:]) == "PK\x03\x04" || string(h[:]) == "PK\x05\x06"
}

func mergeGlobals(into, more []pickle.Global) []pickle.Global {
	for _, g := range more {
		dup := false
		for _, h := range into {
			if h.Module == g.Module && h.Name == g.Name {
				dup = true
				break
			}
		}
		if !dup && len(into) < 4*maxScanGlobalsRecorded {
			into = append(into, g)
		}
	}
	return into
}

func fileAbs(m *artifact.Manifest, f artifact.File) string {
	if !m.Dir {
		return m.Root
	}
	return filepath.Join(m.Root, filepath.FromSlash(f.Rel))
}

func scanReason(si *scanInfo, ceiling string) string {
	if si == nil {
		return "model holds content that runs code when loaded and no pickle stream in it could be graded"
	}
	if !si.complete {
		return "model holds pickle content that could not be scanned to its end: " + si.reason
	}
	names := make([]string, 0, 3)
	for _, g := range si.globals[:min(3, len(si.globals))] {
		names = append(names, g.String())
	}
	what := "imports nothing"
	if len(names) > 0 {
		what = "imports " + strings.Join(names, ", ")
	}
	if ceiling == "" {
		ceiling = "none"
	}
	return fmt.Sprintf("model holds pickle content graded %s (%s); allow_pickle_up_to is %s", si.severity, what, ceiling)
}

// scanAttrs adds the scan attributes.
func (ls *loadState) scanAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	si := ls.scan
	if si == nil {
		return attrs
	}
	names := make([]string, 0, min(len(si.globals), maxScanGlobalsRecorded))
	for _, g := range si.globals[:min(len(si.globals), maxScanGlobalsRecorded)] {
		names = append(names, ls.in.clean(g.String()))
	}
	return append(attrs, KeyModelScanSeverity.String(si.severity.String()), KeyModelScanGlobals.StringSlice(names))
}

// sigRule is a signature rule with its verifier built.
type sigRule struct {
	SignatureRule
	v *modelsig.Verifier
}

// compileSignatures reads the keys and trusted roots of the signature rules.
func (p *Policy) compileSignatures() ([]sigRule, error) {
	if p == nil {
		return nil, nil
	}
	var out []sigRule
	var errs []error
	for i, r := range p.Signatures {
		where := fmt.Sprintf("signatures[%d]", i)
		if len(r.Models) == 0 && len(r.Sources) == 0 {
			errs = append(errs, fmt.Errorf("%s: set models or sources: a rule that matches nothing protects nothing", where))
			continue
		}
		var cfg modelsig.Config
		for _, k := range r.PublicKeys {
			b, err := os.ReadFile(k)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.public_keys: %w", where, err))
				continue
			}
			cfg.PublicKeys = append(cfg.PublicKeys, b)
		}
		if r.TrustedRoot != "" {
			b, err := os.ReadFile(r.TrustedRoot)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.trusted_root: %w", where, err))
				continue
			}
			cfg.TrustedRoot = b
		}
		for _, id := range r.Identities {
			cfg.Identities = append(cfg.Identities, modelsig.Identity{Identity: id.Identity, Issuer: id.Issuer})
		}
		v, err := modelsig.NewVerifier(cfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w; give public_keys (PEM files), or identities with a trusted_root", where, err))
			continue
		}
		out = append(out, sigRule{SignatureRule: r, v: v})
	}
	return out, errors.Join(errs...)
}

// match reports whether the rule applies to a model name or source URI.
func (r *sigRule) match(name, source string) bool {
	for _, m := range r.Models {
		if globMatch(m, name) {
			return true
		}
	}
	for _, s := range r.Sources {
		if strings.ContainsAny(s, "*?") {
			if globMatch(s, source) {
				return true
			}
		} else if prefixMatch(s, source) {
			return true
		}
	}
	return false
}

// checkSignature verifies the signature a rule requires; every file is hashed first (once: the
// digests serve the model digest too). It returns the error to fail with in enforce mode.
func (ls *loadState) checkSignature(ctx context.Context, name, source string) error {
	var rule *sigRule
	for i := range ls.in.sigRules {
		if ls.in.sigRules[i].match(name, source) {
			rule = &ls.in.sigRules[i]
			break
		}
	}
	if rule == nil {
		return nil
	}
	m := ls.manifest
	var res modelsig.Result
	switch {
	case m == nil:
		res = modelsig.Result{Status: modelsig.Missing, Reason: "the model has no local files to verify; set ModelRef.Path to the local copy"}
	default:
		if !m.Hashed() {
			if _, err := ls.in.inspect.Hash(ctx, m); err != nil {
				res = modelsig.Result{Status: modelsig.Invalid, Reason: "hashing the model: " + err.Error()}
				break
			}
		}
		res = rule.v.Verify(ctx, modelsig.Model{Root: m.Root, Signature: signaturePath(m, rule.Signature), FileDigest: fileDigests(m)})
	}
	ls.sigStatus, ls.sigSigner = string(res.Status), ls.in.clean(res.Signer)
	if res.Status == modelsig.Valid {
		return nil
	}
	reason := ls.in.clean(res.Reason)
	attrs := ls.attrs(nil)
	ls.in.emit(ls.ctx, EventSignatureInvalid, log.SeverityError, "model signature "+string(res.Status)+": "+reason, time.Now(), attrs)
	if err := ls.deny(RuleSignatureRequired, "signature "+string(res.Status)+": "+reason); err != nil {
		var pe *PolicyError
		errors.As(err, &pe)
		return &SignatureError{Model: ls.info.Name, Status: string(res.Status), Signer: ls.sigSigner, Reason: reason, policy: pe}
	}
	return nil
}

// signaturePath is where a model's signature is: the rule's path (relative to the model
// directory, or to a one-file model's directory), or model.sig in the directory, or <file>.sig.
func signaturePath(m *artifact.Manifest, p string) string {
	dir := m.Root
	if !m.Dir {
		dir = filepath.Dir(m.Root)
	}
	switch {
	case p != "" && filepath.IsAbs(p):
		return p
	case p != "":
		return filepath.Join(dir, p)
	case m.Dir:
		return filepath.Join(m.Root, "model.sig")
	}
	return m.Root + ".sig"
}

// fileDigests exposes the manifest's digests to the signature check by path ("." for a
// one-file model, as model-signing names it).
func fileDigests(m *artifact.Manifest) func(string) (string, bool) {
	byRel := make(map[string]string, len(m.Files))
	for _, f := range m.Files {
		byRel[f.Rel] = f.Digest
	}
	return func(rel string) (string, bool) {
		if !m.Dir && len(m.Files) == 1 {
			if rel == "." {
				return m.Files[0].Digest, m.Files[0].Digest != ""
			}
			return "", false
		}
		d, ok := byRel[rel]
		return d, ok
	}
}

func (ls *loadState) signatureAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	if ls.sigStatus == "" {
		return attrs
	}
	attrs = append(attrs, KeyModelSignatureStatus.String(ls.sigStatus))
	if ls.sigSigner != "" {
		attrs = append(attrs, KeyModelSignatureSigner.String(ls.sigSigner))
	}
	return attrs
}

// detectHFCache recognises a model read from a Hugging Face hub cache snapshot, from the path
// as given (resolving links would lead into blobs/ and lose the revision), and records its
// source as hf://org/repo@revision. The allowlist has already seen the location on disk.
func (ls *loadState) detectHFCache(ref ModelRef, src modelsource.Source) {
	raw := ref.Path
	if raw == "" && src.Kind == modelsource.Local {
		raw = ref.Source
		if strings.HasPrefix(raw, "file://") {
			u, err := url.Parse(raw)
			if err != nil {
				return
			}
			raw = u.Path
		}
	}
	if raw == "" {
		return
	}
	snap, err := hfcache.Detect(raw)
	if err != nil || snap == nil {
		return
	}
	ls.hf = snap
	switch {
	case src.Kind == modelsource.Local:
		ls.info.SourceURI, ls.info.SourceKind = ls.in.clean(snap.Source()), mlxconv.SourceKindHF
	case src.Kind == modelsource.HF && (src.URI == "hf://"+snap.RepoID || strings.HasPrefix(src.URI, "hf://"+snap.RepoID+"@")):
		ls.info.SourceURI = ls.in.clean(snap.Source())
	}
}

// checkBlobs compares each cached file's digest with its blob name; a mismatch is an
// integrity event whether or not the model is pinned.
func (ls *loadState) checkBlobs() error {
	if ls.hf == nil || ls.manifest == nil || ls.blobsChecked {
		return nil
	}
	m := ls.manifest
	digests := make(map[string]string, len(m.Files))
	if !m.Dir && len(m.Files) == 1 && len(ls.hf.Blobs) == 1 {
		// One file: artifact names it after the resolved blob, the cache after the link.
		for rel := range ls.hf.Blobs {
			digests[rel] = m.Files[0].Digest
		}
	} else {
		for _, f := range m.Files {
			digests[f.Rel] = f.Digest
		}
	}
	for _, d := range digests {
		if d == "" {
			return nil // not hashed yet
		}
	}
	ls.blobsChecked = true
	bad := ls.hf.Check(digests)
	if len(bad) == 0 {
		return nil
	}
	if ls.in.cfg.policy != nil {
		ls.info.Rule = RuleDigestHFBlob
		if ls.in.cfg.policy.enforcing() {
			ls.info.Decision = DecisionDeny
		} else {
			ls.info.Decision = DecisionAudit
		}
	}
	for _, b := range bad {
		attrs := ls.attrs(nil)
		attrs = append(attrs, KeyModelFile.String(ls.in.clean(b.Rel)), KeyModelBlobSHA256.String(b.Expected))
		ls.in.emit(ls.ctx, EventIntegrityMismatch, log.SeverityFatal,
			"model file in the Hugging Face cache differs from its blob name (Git LFS object id)", time.Now(), attrs)
	}
	return &IntegrityError{Model: ls.info.Name, Expected: bad[0].Expected, Actual: bad[0].Actual}
}
