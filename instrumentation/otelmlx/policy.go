package otelmlx

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// PolicyMode says what a policy does with a load it does not allow.
type PolicyMode string

const (
	// Enforce refuses the load: the caller's load function is not called (or, for a digest
	// that can only be known after reading, the loaded model is discarded) and an error is
	// returned.
	Enforce PolicyMode = "enforce"
	// Audit lets the load proceed and records mlx.policy.decision=audit with the rule that
	// would have denied it. Use it to roll a policy out without breaking a service.
	Audit PolicyMode = "audit"
)

// Decision values of mlx.policy.decision.
const (
	DecisionAllow = mlxconv.DecisionAllow
	DecisionDeny  = mlxconv.DecisionDeny
	DecisionAudit = mlxconv.DecisionAudit
)

// Rule ids recorded in mlx.policy.rule.
const (
	RuleDefault        = mlxconv.RuleDefault
	RuleSourceAllowed  = mlxconv.RuleSourceAllowlist
	RuleFormatAllowed  = mlxconv.RuleFormatAllowlist
	RuleUnsafeFormat   = mlxconv.RuleFormatUnsafe
	RuleMalformed      = mlxconv.RuleFormatMalformed
	RuleDigestPinned   = mlxconv.RuleDigestPinned
	RuleAllowedByRules = mlxconv.RuleAllowlist
)

// Policy says which models a service may load.
//
// A load is denied when its source matches none of AllowedSources (when any are set), when its
// format is not in AllowedFormats (when any are set), when any file holds pickle content
// (pickle, object arrays, PyTorch checkpoints) graded above AllowPickleUpTo (by default every
// pickle is refused), when a signature it requires is not valid, or when its digest differs
// from the one pinned for its model name or, in a Hugging Face cache, from its blob name.
type Policy struct {
	Mode PolicyMode `yaml:"mode"`
	// AllowedSources are source URIs (file:///..., hf://org/repo, https://...) as prefixes, or
	// glob patterns when they contain '*' or '?': '*' matches any run of characters, '/'
	// included; '?' matches one character.
	AllowedSources []string `yaml:"allowed_sources"`
	// AllowedFormats are mlx.model.format values: safetensors, gguf, npz, npy, pickle.
	AllowedFormats []string `yaml:"allowed_formats"`
	// PinnedDigests maps a logical model name to the hex SHA-256 it must have.
	PinnedDigests map[string]string `yaml:"pinned_digests"`
	// VerifyBeforeLoad hashes a pinned model before the load function runs, instead of while it
	// runs. Slower (the model is read twice when not in the page cache) but the bytes of a
	// mismatching model never reach the loader.
	VerifyBeforeLoad bool `yaml:"verify_before_load"`
	// DenyMalformed refuses models whose weight files fail structural checks. Nil means true,
	// in a Policy built in Go as in one parsed from YAML, so the zero value is the secure
	// default; set it to a false value to let malformed files reach the loader.
	DenyMalformed *bool `yaml:"deny_malformed"`
	// AllowPickleUpTo is the worst grade of pickle content admitted: none (the default: no
	// pickle content loads), low (known tensor and container reconstruction, as PyTorch and
	// NumPy checkpoints need), medium (also unknown imports) or high (also network and file
	// access). Code execution (critical) is never admitted, nor content that could not be
	// scanned to its end.
	AllowPickleUpTo string `yaml:"allow_pickle_up_to"`
	// Signatures require a valid OpenSSF Model Signing signature for the models they match.
	Signatures []SignatureRule `yaml:"signatures"`
}

// SignatureRule requires models whose name or source matches to carry a valid signature
// (OpenSSF Model Signing v1.0, as the model-signing tool writes it) by a trusted signer.
type SignatureRule struct {
	// Models are model names (globs with * and ?) the rule applies to.
	Models []string `yaml:"models"`
	// Sources are source URIs (prefixes, or globs with * and ?) the rule applies to.
	Sources []string `yaml:"sources"`
	// PublicKeys are PEM files of trusted signing keys.
	PublicKeys []string `yaml:"public_keys"`
	// Identities are trusted keyless signers (certificate identity and OIDC issuer), checked
	// against TrustedRoot.
	Identities []SignatureIdentity `yaml:"identities"`
	// TrustedRoot is a Sigstore trusted root file (trusted_root.json); read at startup, no
	// network at load time.
	TrustedRoot string `yaml:"trusted_root"`
	// Signature is the signature file: relative to the model directory (a one-file model: to
	// the file's directory), or absolute. Default: model.sig in a model directory, <file>.sig
	// beside a one-file model.
	Signature string `yaml:"signature"`
}

// SignatureIdentity is a keyless signer: the certificate's subject alternative name (an
// e-mail address or a workflow URI) and the OIDC issuer, both matched exactly.
type SignatureIdentity struct {
	Identity string `yaml:"identity"`
	Issuer   string `yaml:"issuer"`
}

// LoadPolicyFile reads a policy from a YAML file. Unknown keys are errors, so a misspelt key
// cannot silently weaken a policy.
func LoadPolicyFile(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy file: %w", err)
	}
	p, err := ParsePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy parses and validates a YAML policy.
func ParsePolicy(b []byte) (*Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if p.DenyMalformed == nil {
		t := true
		p.DenyMalformed = &t
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

var knownFormats = []string{string(sniff.Safetensors), string(sniff.GGUF), string(sniff.NPZ), string(sniff.NPY), string(sniff.Pickle), string(sniff.Unknown)}

// Validate reports every problem in the policy at once.
func (p *Policy) Validate() error {
	var errs []error
	switch p.Mode {
	case Enforce, Audit:
	case "":
		errs = append(errs, errors.New(`mode is required: "enforce" or "audit"`))
	default:
		errs = append(errs, fmt.Errorf(`mode %q is not "enforce" or "audit"`, p.Mode))
	}
	for _, f := range p.AllowedFormats {
		if !slices.Contains(knownFormats, f) {
			errs = append(errs, fmt.Errorf("allowed_formats: %q is not one of %s", f, strings.Join(knownFormats, ", ")))
		}
	}
	for _, s := range p.AllowedSources {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, errors.New("allowed_sources: empty entry would allow every source; remove it"))
		}
	}
	for name, d := range p.PinnedDigests {
		if b, err := hex.DecodeString(d); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("pinned_digests[%q]: %q is not a 64 character hex SHA-256", name, d))
		}
	}
	ceiling, err := p.pickleCeiling()
	if err != nil {
		errs = append(errs, err)
	} else if ceiling == pickle.SeverityNone && slices.Contains(p.AllowedFormats, string(sniff.Pickle)) {
		errs = append(errs, errors.New("allowed_formats lists pickle but allow_pickle_up_to is none (the default), so no pickle would load: set allow_pickle_up_to (low admits PyTorch and NumPy checkpoints)"))
	}
	if _, err := p.compileSignatures(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pickleCeiling parses AllowPickleUpTo.
func (p *Policy) pickleCeiling() (pickle.Severity, error) {
	if p == nil || p.AllowPickleUpTo == "" {
		return pickle.SeverityNone, nil
	}
	s, err := pickle.ParseSeverity(p.AllowPickleUpTo)
	if err != nil || s == pickle.SeverityCritical {
		return pickle.SeverityNone, fmt.Errorf("allow_pickle_up_to: %q is not one of none, low, medium, high (critical content runs code and is never admitted)", p.AllowPickleUpTo)
	}
	return s, nil
}

func (p *Policy) enforcing() bool { return p != nil && p.Mode != Audit }

// checkSource returns the rule that denies the source, or "".
func (p *Policy) checkSource(uri string) string {
	if p == nil || len(p.AllowedSources) == 0 {
		return ""
	}
	for _, pat := range p.AllowedSources {
		if strings.ContainsAny(pat, "*?") {
			if globMatch(pat, uri) {
				return ""
			}
		} else if prefixMatch(pat, uri) {
			return ""
		}
	}
	return RuleSourceAllowed
}

// prefixMatch matches a prefix at a boundary: a prefix that does not end in '/' matches the
// URI itself and what lies below it ('/'), a revision ('@') or a query ('?'), so that
// file:///srv/allowed never admits file:///srv/allowed-evil/.
func prefixMatch(pat, uri string) bool {
	if !strings.HasPrefix(uri, pat) {
		return false
	}
	if len(uri) == len(pat) || strings.HasSuffix(pat, "/") {
		return true
	}
	return strings.IndexByte("/@?", uri[len(pat)]) >= 0
}

// checkFormat returns the rule that denies the format, or "".
//
// Unsafe content is admitted only when it was scanned to its end (scan non-nil and complete)
// and graded at most AllowPickleUpTo.
func (p *Policy) checkFormat(format sniff.Format, unsafe bool, malformed bool, scan *scanInfo) string {
	if p == nil {
		return ""
	}
	if malformed && (p.DenyMalformed == nil || *p.DenyMalformed) {
		return RuleMalformed
	}
	if unsafe {
		ceiling, err := p.pickleCeiling()
		if err != nil || ceiling == pickle.SeverityNone || scan == nil || !scan.complete || scan.severity > ceiling {
			return RuleUnsafeFormat
		}
	}
	if len(p.AllowedFormats) > 0 && !slices.Contains(p.AllowedFormats, string(format)) {
		return RuleFormatAllowed
	}
	if format == sniff.Unknown && !slices.Contains(p.AllowedFormats, string(sniff.Unknown)) {
		// Content no check could read is not safe content: a policy admits it only when
		// allowed_formats lists unknown (in audit mode the would-be denial is recorded).
		return RuleFormatAllowed
	}
	return ""
}

// pinned returns the pinned digest for a model name.
func (p *Policy) pinned(model string) (string, bool) {
	if p == nil {
		return "", false
	}
	d, ok := p.PinnedDigests[model]
	return strings.ToLower(d), ok
}

// globMatch matches s against pattern where '*' is any run (including '/') and '?' one byte.
// Iterative with backtracking to the last star, so it is linear in practice and never recurses.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
