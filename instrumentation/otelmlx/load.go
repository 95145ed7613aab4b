package otelmlx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/artifact"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/hfcache"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/modelsource"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// FormatError is the structural fault found in a model file (a safetensors header that lies
// about its length, offsets outside the file, a GGUF with an absurd tensor count, ...).
type FormatError = sniff.FormatError

// ModelRef names a model to load.
type ModelRef struct {
	// Name is the logical model name (gen_ai.request.model). Pinned digests are keyed by it.
	Name string
	// Source is where the model comes from: a path, a file:// URI, an hf:// URI or "org/repo"
	// hub id, an https:// or s3:// URI. Credentials in URIs are never recorded.
	Source string
	// Path is the local copy the load function reads (a file or a directory) when Source is
	// remote, e.g. a hub cache snapshot. Empty for local sources, which are read in place.
	// Without a local path, format and digest cannot be checked before the load: format is
	// "unknown" and a policy that lists allowed formats denies the load.
	Path string
}

// ModelInfo is what Load found out about a model.
type ModelInfo struct {
	Name       string // sanitized logical name
	SourceURI  string // canonical source, credentials redacted, sanitized
	SourceKind string // local, hf, https, s3, other
	Format     string // mlx.model.format, from content
	Unsafe     bool   // some file can run code when loaded
	SHA256     string // model digest; empty when there were no local files to hash
	Size       int64  // bytes
	Files      int
	Decision   string // allow, deny, audit
	Rule       string // the rule that decided
}

// loadState carries one load through its steps.
type loadState struct {
	in       *Instrumenter
	ctx      context.Context
	span     trace.Span
	start    time.Time
	info     ModelInfo
	manifest *artifact.Manifest
	detail   string
	faulty   bool // a weight file failed structural checks
	checked  bool // the digest was compared with the pin

	scan         *scanInfo         // what the model's pickle content imports; nil without any
	hf           *hfcache.Snapshot // the Hugging Face cache snapshot the model is read from
	blobsChecked bool              // the cache's blob names were compared with the digests
	sigStatus    string            // mlx.model.signature.status, when a rule required one
	sigSigner    string            // mlx.model.signature.signer
}

// Load runs load, the caller's function that loads the model with MLX, inside a load_model
// span, after checking the model against the policy, and reports the outcome as a security
// event and metrics. A nil Instrumenter means one with the global providers and no policy.
//
// The digest is computed while load runs (both read the same pages), or taken from the cache
// when the files are unchanged. When the policy denies the source or format in enforce mode,
// load is not called and the error is a *PolicyError. When the digest differs from the one
// pinned for the model name, the error is an *IntegrityError and, in enforce mode, the loaded
// model is discarded: closed if it implements io.Closer, and not returned.
//
// If load panics, the span ends with error.type=panic and the panic continues.
func Load[M any](ctx context.Context, in *Instrumenter, ref ModelRef, load func(context.Context) (M, error)) (model M, info ModelInfo, err error) {
	if in == nil {
		in = defaultInstrumenter()
	}
	ls := &loadState{in: in, start: time.Now()}
	src := modelsource.Classify(ref.Source)
	ls.info = ModelInfo{
		Name:       in.clean(ref.Name),
		SourceURI:  in.clean(src.URI),
		SourceKind: string(src.Kind),
		Format:     string(sniff.Unknown),
		Decision:   DecisionAllow,
		Rule:       RuleDefault,
	}
	kind := trace.SpanKindInternal
	path := ref.Path
	if path == "" && src.Kind == modelsource.Local {
		path = src.Path
	}
	if src.Remote && ref.Path == "" {
		kind = trace.SpanKindClient
	}
	ls.ctx, ls.span = in.tracer.Start(ctx, OperationLoadModel+" "+ls.info.Name, trace.WithSpanKind(kind), trace.WithTimestamp(ls.start))
	ctx = ls.ctx

	defer func() {
		if r := recover(); r != nil {
			ls.finish(panicError{r})
			panic(r)
		}
	}()

	// First what the reference alone decides, before any file is touched: a source the policy
	// denies is never opened, listed or parsed (it may not exist, be a FIFO or a device, or
	// hold a million files).
	policy := in.cfg.policy
	expected, pinned := policy.pinned(ref.Name)
	if src.Err != nil && policy == nil {
		err = fmt.Errorf("otelmlx: model %q: %w; give the source without encoded separators or '..' above its root", ls.info.Name, src.Err)
		ls.finish(err)
		return model, ls.info, err
	}
	if policy != nil {
		ls.info.Rule = RuleAllowedByRules
		if rule, reason := ls.checkReference(policy, src, ref); rule != "" {
			if err = ls.deny(rule, reason); err != nil {
				ls.finish(err)
				return model, ls.info, err
			}
		}
		if pinned && path == "" {
			// Nothing local to hash: the pin cannot be verified, before or after the load.
			if err = ls.deny(RuleDigestPinned, "the model is pinned in pinned_digests but has no local files to hash; set ModelRef.Path to the local copy the load function reads"); err != nil {
				ls.finish(err)
				return model, ls.info, err
			}
		}
	}

	ls.detectHFCache(ref, src)

	if path != "" {
		scan := in.inspect.Scan
		if ref.Path == "" {
			scan = in.inspect.ScanResolved // Classify resolved it already
		}
		m, serr := scan(path)
		if serr != nil {
			err = fmt.Errorf("otelmlx: inspecting model %q: %w", ls.info.Name, serr)
			ls.finish(err)
			return model, ls.info, err
		}
		ls.manifest = m
		ls.info.Format = string(m.Format())
		ls.info.Unsafe = m.Unsafe()
		ls.info.Size = m.Size
		ls.info.Files = len(m.Files)
		if ferr := m.FormatErr(); ferr != nil {
			ls.faulty = true
			ls.detail = in.clean(ferr.Error())
		} else if d := m.Detail(); d != "" {
			ls.detail = in.clean(d)
		}
		ls.scan = scanPickles(in.inspect, m)
		if ls.scan != nil && !ls.info.Unsafe {
			// Pickle content the sniffer missed (a zip whose pickle member is not first).
			ls.info.Unsafe = true
		}
		if f, ok := m.Polyglot(); ok {
			// Valid weights and a pickle at once: whatever its pickle imports, a file built to
			// pass for safe weights is refused at any allow_pickle_up_to.
			ls.scan = orNew(ls.scan)
			ls.scan.complete, ls.scan.severity = false, pickle.SeverityCritical
			ls.scan.reason = f.Rel + ": " + f.Sniff.Detail
		}
	}

	if policy != nil {
		if rule := policy.checkFormat(sniff.Format(ls.info.Format), ls.info.Unsafe, ls.faulty, ls.scan); rule != "" {
			if err = ls.deny(rule, formatReason(rule, ls)); err != nil {
				ls.finish(err)
				return model, ls.info, err
			}
		}
		// A required signature is checked before the loader runs.
		if err = ls.checkSignature(ctx, ref.Name, src.URI); err != nil {
			ls.finish(err)
			return model, ls.info, err
		}
	}

	// Digest: a pinned model whose digest is known (cached, or hashed first because the policy
	// asks for it) is checked before the load; otherwise it is hashed alongside the load, except
	// from a cold page cache, where hashing first and then loading from memory is faster than
	// two readers on the disk at once (see artifact.Inspector.Cold).
	var hashed chan error
	if m := ls.manifest; m != nil {
		if pinned && policy.VerifyBeforeLoad && !m.Hashed() {
			if _, herr := in.inspect.Hash(ctx, m); herr != nil {
				err = fmt.Errorf("otelmlx: hashing model %q: %w", ls.info.Name, herr)
				ls.finish(err)
				return model, ls.info, err
			}
		}
		if !m.Hashed() && in.inspect.Cold(m) {
			// A failure leaves files unhashed: they are hashed alongside the load below, and an
			// error there is handled as it always is.
			_, _ = in.inspect.Hash(ctx, m)
		}
		if pinned && m.Hashed() {
			if ierr := ls.checkDigest(expected); ierr != nil && policy.enforcing() {
				ls.finish(ierr)
				return model, ls.info, ierr
			}
		}
		if m.Hashed() {
			if ierr := ls.checkBlobs(); ierr != nil && policy.enforcing() {
				ls.finish(ierr)
				return model, ls.info, ierr
			}
		}
		if !m.Hashed() {
			hashed = make(chan error, 1)
			go func() {
				_, herr := in.inspect.Hash(ctx, m)
				hashed <- herr
			}()
		}
	}

	model, err = load(ctx)

	// After the load, an error of ours (the digest could not be computed or differs from the
	// pin) discards the model: it is closed and not returned.
	var ours error
	if hashed != nil {
		if herr := <-hashed; herr != nil && err == nil && pinned {
			ours = fmt.Errorf("otelmlx: hashing model %q to verify its pinned digest: %w", ls.info.Name, herr)
		}
	}
	if ls.manifest != nil {
		ls.info.SHA256 = ls.manifest.Digest()
	}
	if err == nil && ours == nil && pinned && !ls.checked {
		if ierr := ls.checkDigest(expected); ierr != nil && policy.enforcing() {
			ours = ierr
		} else if !ls.checked && policy.enforcing() {
			ours = ls.deny(RuleDigestPinned, "the digest of the pinned model could not be computed")
		}
	}
	if err == nil && ours == nil {
		if ierr := ls.checkBlobs(); ierr != nil && policy.enforcing() {
			ours = ierr
		}
	}
	if ours != nil {
		discard(model)
		var zero M
		model, err = zero, ours
	}
	ls.finish(err)
	return model, ls.info, err
}

// checkReference returns the rule that denies the model from its reference alone, or "".
func (ls *loadState) checkReference(p *Policy, src modelsource.Source, ref ModelRef) (rule, reason string) {
	if src.Err != nil {
		return RuleSourceAllowed, src.Err.Error()
	}
	if rule := p.checkSource(src.URI); rule != "" {
		return rule, "source is not in allowed_sources"
	}
	if len(p.AllowedSources) > 0 && ref.Path != "" && src.Kind == modelsource.Local {
		// The allowlist checked Source, and Source is what gets recorded; the load function
		// reads Path. A Path outside Source would load files the allowlist never saw.
		local := modelsource.Classify(ref.Path)
		if local.Kind != modelsource.Local || !pathWithin(local.URI, src.URI) {
			return RuleSourceAllowed, "Path " + ls.in.clean(local.URI) + " is not inside Source: the files read must be those the allowlist checked"
		}
	}
	return "", ""
}

// pathWithin reports whether uri is base or below it.
func pathWithin(uri, base string) bool {
	return uri == base || strings.HasPrefix(uri, strings.TrimSuffix(base, "/")+"/")
}

// deny applies a rule that does not allow the load: in enforce mode it returns the
// *PolicyError to fail with; in audit mode it records the would-be denial and returns nil.
func (ls *loadState) deny(rule, reason string) error {
	ls.info.Rule = rule
	if ls.in.cfg.policy.enforcing() {
		ls.info.Decision = DecisionDeny
		return &PolicyError{Model: ls.info.Name, Source: ls.info.SourceURI, Rule: rule, Reason: reason}
	}
	ls.info.Decision = DecisionAudit
	ls.emitPolicy(reason)
	return nil
}

func formatReason(rule string, ls *loadState) string {
	switch rule {
	case RuleMalformed:
		return "model file is malformed: " + ls.detail
	case RuleUnsafeFormat:
		return scanReason(ls.scan, ls.in.cfg.policy.AllowPickleUpTo)
	case RuleFormatAllowed:
		if ls.info.Format == string(sniff.Unknown) {
			return "format unknown is not in allowed_formats: no check could read the model (a remote source without ModelRef.Path, or files of no known format); an enforcing policy admits that only when allowed_formats lists unknown"
		}
		return "format " + ls.info.Format + " is not in allowed_formats"
	}
	return ""
}

// checkDigest compares the model digest with the pinned one and reports a mismatch. Without a
// digest (no local files, or hashing failed) it returns nil and leaves checked false.
func (ls *loadState) checkDigest(expected string) error {
	if ls.manifest == nil {
		return nil
	}
	actual := ls.manifest.Digest()
	ls.checked = actual != ""
	if actual == "" || actual == expected {
		return nil
	}
	ls.info.SHA256 = actual
	ls.info.Rule = RuleDigestPinned
	if ls.in.cfg.policy.enforcing() {
		ls.info.Decision = DecisionDeny
	} else {
		ls.info.Decision = DecisionAudit
	}
	attrs := ls.attrs(nil)
	attrs = append(attrs, KeyExpectedSHA256.String(expected))
	ls.in.emit(ls.ctx, EventIntegrityMismatch, log.SeverityFatal,
		"model digest differs from the pinned digest", time.Now(), attrs)
	return &IntegrityError{Model: ls.info.Name, Expected: expected, Actual: actual}
}

func (ls *loadState) emitPolicy(reason string) {
	sev := log.SeverityError
	if ls.info.Decision == DecisionAudit {
		sev = log.SeverityWarn
	}
	ls.in.emit(ls.ctx, EventPolicyDenied, sev, "model load not allowed by policy: "+reason, time.Now(), ls.attrs(nil))
}

// attrs returns the contract attributes of this load.
func (ls *loadState) attrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	i := ls.info
	attrs = append(attrs,
		keyOperation.String(OperationLoadModel), providerMLX, keyRequestModel.String(i.Name),
		KeyModelSource.String(i.SourceURI), KeyModelSourceKind.String(i.SourceKind),
		KeyModelFormat.String(i.Format), KeyPolicyDecision.String(i.Decision), KeyPolicyRule.String(i.Rule))
	if ls.manifest != nil {
		attrs = append(attrs, KeyModelSize.Int64(i.Size), KeyModelFiles.Int(i.Files))
	}
	if i.SHA256 != "" {
		attrs = append(attrs, KeyModelSHA256.String(i.SHA256))
	}
	if i.Unsafe {
		attrs = append(attrs, KeyModelUnsafe.Bool(true))
	}
	if ls.detail != "" {
		attrs = append(attrs, KeyFormatDetail.String(ls.detail))
	}
	attrs = ls.scanAttrs(attrs)
	attrs = ls.signatureAttrs(attrs)
	return ls.in.runtimeAttrs(attrs)
}

// finish records the span, metrics and the outcome event.
func (ls *loadState) finish(err error) {
	in, ctx := ls.in, ls.ctx
	end := time.Now()
	attrs := make([]attribute.KeyValue, 0, 24)
	attrs = ls.attrs(attrs)
	if mem, ok := in.memory(); ok {
		attrs = in.recordMemory(ctx, mem, attrs)
	}
	errType := errorType(err)
	if err != nil {
		attrs = append(attrs, keyErrorType.String(errType))
	}
	if in.loadDuration.Enabled(ctx) {
		mattrs := []attribute.KeyValue{keyRequestModel.String(in.shapeFor(OperationLoadModel, ls.info.Name).okModel()),
			KeyModelSourceKind.String(ls.info.SourceKind), KeyModelFormat.String(ls.info.Format), KeyPolicyDecision.String(ls.info.Decision)}
		if err != nil {
			mattrs = append(mattrs, keyErrorType.String(errType))
		}
		in.loadDuration.Record(ctx, end.Sub(ls.start).Seconds(), metric.WithAttributes(mattrs...))
	}
	if ls.span.IsRecording() {
		ls.span.SetAttributes(attrs...)
		if err != nil {
			ls.span.SetStatus(codes.Error, in.clean(err.Error()))
		}
	}
	ls.span.End(trace.WithTimestamp(end))

	var pe *PolicyError
	var ie *IntegrityError
	switch {
	case err == nil:
		in.emit(ctx, EventLoadSucceeded, log.SeverityInfo, "model loaded", end, attrs)
	case errors.As(err, &pe):
		in.emit(ctx, EventPolicyDenied, log.SeverityError, "model load denied by policy: "+pe.Reason, end, attrs)
	case errors.As(err, &ie):
		// The mismatch event was emitted when it was found; the load outcome follows it.
		in.emit(ctx, EventLoadFailed, log.SeverityError, in.clean(err.Error()), end, attrs)
	default:
		sev := log.SeverityWarn
		if ls.faulty {
			sev = log.SeverityError
		}
		in.emit(ctx, EventLoadFailed, sev, "model load failed: "+in.clean(err.Error()), end, attrs)
		if isResourceExhausted(err) {
			in.emit(ctx, EventResourceExhausted, log.SeverityError, "model load exhausted a resource: "+in.clean(err.Error()), end, attrs)
		}
	}
}

// okModel is the model name as metrics record it (_OTHER past the bound).
func (s *shape) okModel() string {
	if v, ok := s.ok.Value(keyRequestModel); ok {
		return v.AsString()
	}
	return s.model
}

// discard releases a model that must not be handed to the caller.
func discard(m any) {
	if c, ok := m.(io.Closer); ok {
		_ = c.Close()
	}
}
