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
// format is not in AllowedFormats (when any are set), when any file can run code on load
// (pickle, object arrays) unless "pickle" is listed in AllowedFormats, or when its digest
// differs from the one pinned for its model name.
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
	return errors.Join(errs...)
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
		} else if strings.HasPrefix(uri, pat) {
			return ""
		}
	}
	return RuleSourceAllowed
}

// checkFormat returns the rule that denies the format, or "".
func (p *Policy) checkFormat(format sniff.Format, unsafe bool, malformed bool) string {
	if p == nil {
		return ""
	}
	if malformed && (p.DenyMalformed == nil || *p.DenyMalformed) {
		return RuleMalformed
	}
	if unsafe && !slices.Contains(p.AllowedFormats, string(sniff.Pickle)) {
		return RuleUnsafeFormat
	}
	if len(p.AllowedFormats) > 0 && !slices.Contains(p.AllowedFormats, string(format)) {
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
