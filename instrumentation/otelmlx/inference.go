package otelmlx

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/log"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// Request describes one inference as the caller knows it before running it.
type Request struct {
	// Operation is gen_ai.operation.name: OperationChat, OperationTextCompletion,
	// OperationGenerate, OperationEmbeddings or OperationPredict (the default).
	Operation string
	// Model is the requested model name (gen_ai.request.model).
	Model string
	// ModelSHA256 is the digest of the model that serves the request (ModelInfo.SHA256), which
	// links the request to the load that produced the model.
	ModelSHA256 string
	RequestID   string
	// Identity is the caller (API key, user, service account). It is never recorded: only its
	// keyed HMAC is, as enduser.pseudo.id.
	Identity      string
	ClientAddress string
	MaxTokens     int
	// InputSize is the size of the input in bytes or elements (mlx.input.size).
	InputSize int64
	// Prompt is recorded only with WithContentCapture(true).
	Prompt string
	// Remote marks an inference served by another process (an HTTP model server): the span
	// kind is CLIENT and ServerAddress/ServerPort are recorded.
	Remote        bool
	ServerAddress string
	ServerPort    int
}

// Response describes the outcome of an inference.
type Response struct {
	Model         string // gen_ai.response.model
	ID            string // gen_ai.response.id
	InputTokens   int64
	OutputTokens  int64
	FinishReasons []string
	// Content is recorded only with WithContentCapture(true).
	Content string
	// UsageEstimated says OutputTokens were counted (stream chunks) rather than reported.
	UsageEstimated bool
}

// Inference is one inference in progress. End it exactly once; later calls do nothing.
// It is not safe for concurrent use.
type Inference struct {
	in        *Instrumenter
	ctx       context.Context
	span      trace.Span
	shape     *shape
	req       Request
	resp      Response
	start     time.Time
	ttft      time.Duration
	extra     []attribute.KeyValue
	recording bool
	ended     bool
}

// Span start options built once: a variadic call with literal options allocates each time.
var (
	internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	clientSpan   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
)

// StartInference starts recording an inference whose work outlives one function call, such as
// a streamed response. The returned context carries the span.
func (in *Instrumenter) StartInference(ctx context.Context, req Request) (context.Context, *Inference) {
	ctx, span, s := in.begin(ctx, &req)
	inf := &Inference{req: req}
	in.fill(ctx, span, s, inf)
	return ctx, inf
}

// begin starts the span of an inference.
func (in *Instrumenter) begin(ctx context.Context, req *Request) (context.Context, trace.Span, *shape) {
	if req.Operation == "" {
		req.Operation = OperationPredict
	}
	s := in.shapeFor(req.Operation, req.Model)
	opts := internalSpan
	if req.Remote {
		opts = clientSpan
	}
	ctx, span := in.tracer.Start(ctx, s.spanName, opts...)
	return ctx, span, s
}

// fill completes inf, whose req is set, for the span begin started.
func (in *Instrumenter) fill(ctx context.Context, span trace.Span, s *shape, inf *Inference) {
	inf.in, inf.ctx, inf.span, inf.shape = in, ctx, span, s
	inf.recording = span.IsRecording()
	// The clock is read only when something will use it.
	if inf.recording || in.opDuration.Enabled(ctx) {
		inf.start = time.Now()
	}
}

// quiet reports that an inference whose span does not record has nothing to record at all:
// no metric instrument and no event is enabled. Infer then only runs the function.
func (in *Instrumenter) quiet(ctx context.Context) bool {
	if in.opDuration.Enabled(ctx) || in.tokenUsage.Enabled(ctx) {
		return false
	}
	for i := range quietChecks {
		p := &quietChecks[i]
		if (p.EventName != EventInferenceCompleted || in.cfg.auditRecords) && in.logger.Enabled(ctx, *p) {
			return false
		}
	}
	return true
}

var quietChecks = [...]log.EnabledParameters{
	{Severity: log.SeverityInfo, EventName: EventInferenceCompleted},
	{Severity: log.SeverityWarn, EventName: EventInferenceFailed},
	{Severity: log.SeverityWarn, EventName: EventInferenceRejected},
	{Severity: log.SeverityError, EventName: EventResourceExhausted},
}

// FirstToken marks the arrival of the first token of a streamed response.
func (inf *Inference) FirstToken() {
	if inf.ttft == 0 && !inf.start.IsZero() {
		inf.ttft = max(time.Since(inf.start), 1)
	}
}

// SetResponse records the response; fields left zero are not recorded.
func (inf *Inference) SetResponse(r Response) { inf.resp = r }

// SetAttributes adds attributes to the span and the events of this inference. Values from
// outside the process must be sanitized by the caller.
func (inf *Inference) SetAttributes(kv ...attribute.KeyValue) { inf.extra = append(inf.extra, kv...) }

// Context returns the context that carries the inference span.
func (inf *Inference) Context() context.Context { return inf.ctx }

// End records the outcome. err == nil is a success; an error wrapping ErrRejected a rejected
// request; anything else a failure.
func (inf *Inference) End(err error) {
	if inf == nil || inf.ended {
		return
	}
	inf.ended = true
	in, ctx, s := inf.in, inf.ctx, inf.shape
	var end time.Time
	var dur float64
	if !inf.start.IsZero() {
		end = time.Now()
		dur = end.Sub(inf.start).Seconds()
	}
	errType := errorType(err)

	if in.opDuration.Enabled(ctx) {
		opt := s.okOpt
		if err != nil {
			opt = s.errOpt(errType)
		}
		in.opDuration.Inst().Record(ctx, dur, opt...)
	}
	if (inf.resp.InputTokens > 0 || inf.resp.OutputTokens > 0) && in.tokenUsage.Enabled(ctx) {
		if inf.resp.InputTokens > 0 {
			in.tokenUsage.Inst().Record(ctx, inf.resp.InputTokens, s.inputOpt...)
		}
		if inf.resp.OutputTokens > 0 {
			in.tokenUsage.Inst().Record(ctx, inf.resp.OutputTokens, s.outputOpt...)
		}
	}

	name, sev, body := inf.outcome(err)
	emitEvent := name != "" && in.logger.Enabled(ctx, log.EnabledParameters{Severity: sev, EventName: name})
	exhausted := err != nil && isResourceExhausted(err)
	if !inf.recording && !emitEvent && !exhausted {
		inf.span.End()
		return
	}

	if end.IsZero() {
		end = time.Now()
	}
	bp := attrPool.Get().(*[]attribute.KeyValue)
	attrs, nEvent := inf.attrs((*bp)[:0], err, errType)
	defer func() {
		clear(attrs)
		*bp = attrs[:0]
		attrPool.Put(bp)
	}()
	if inf.recording {
		inf.span.SetAttributes(attrs...)
		if err != nil {
			inf.span.SetStatus(codes.Error, in.clean(err.Error()))
		}
	}
	inf.span.End()
	event := attrs[:nEvent]
	if emitEvent {
		if in.cfg.captureContent && err == nil {
			event = append(event[:nEvent:nEvent], KeyInputMessages.String(in.clean(inf.req.Prompt)), KeyOutputMessages.String(in.clean(inf.resp.Content)))
		}
		in.emit(ctx, name, sev, body, end, event)
	}
	if exhausted {
		// Resource events carry the memory figures, which are the point of them.
		in.emit(ctx, EventResourceExhausted, log.SeverityError, "inference exhausted a resource: "+in.clean(err.Error()), end, attrs)
	}
}

// outcome picks the event for the result; "" when no event is due (audit records off).
func (inf *Inference) outcome(err error) (name string, sev log.Severity, body string) {
	switch {
	case err == nil:
		if !inf.in.cfg.auditRecords {
			return "", 0, ""
		}
		return EventInferenceCompleted, log.SeverityInfo, "inference completed"
	case errors.Is(err, ErrRejected):
		return EventInferenceRejected, log.SeverityWarn, "inference rejected: " + inf.in.clean(err.Error())
	default:
		return EventInferenceFailed, log.SeverityWarn, "inference failed: " + inf.in.clean(err.Error())
	}
}

// attrs returns the attributes of this inference: first the audit subset that the event
// carries, then what only the span carries. Events stay small because every attribute past the
// fifth costs the log SDK allocations; the span holds the full detail and events link to it by
// trace and span id.
func (inf *Inference) attrs(buf []attribute.KeyValue, err error, errType string) (attrs []attribute.KeyValue, nEvent int) {
	in, r, p := inf.in, &inf.req, &inf.resp
	attrs = append(buf, keyOperation.String(r.Operation), keyRequestModel.String(inf.shape.model))
	if r.ModelSHA256 != "" {
		attrs = append(attrs, KeyModelSHA256.String(in.clean(r.ModelSHA256)))
	}
	if r.RequestID != "" {
		attrs = append(attrs, KeyRequestID.String(in.clean(r.RequestID)))
	}
	if r.Identity != "" {
		attrs = append(attrs, keyPseudoID.String(in.pseudo.id(r.Identity)))
	}
	if r.ClientAddress != "" {
		attrs = append(attrs, keyClientAddress.String(in.clean(r.ClientAddress)))
	}
	if p.InputTokens > 0 {
		attrs = append(attrs, keyInputTokens.Int64(p.InputTokens))
	}
	if p.OutputTokens > 0 {
		attrs = append(attrs, keyOutputTokens.Int64(p.OutputTokens))
	}
	if err != nil {
		attrs = append(attrs, keyErrorType.String(errType))
	}
	nEvent = len(attrs)

	attrs = append(attrs, providerMLX)
	if p.Model != "" {
		attrs = append(attrs, keyResponseModel.String(in.clean(p.Model)))
	}
	if r.MaxTokens > 0 {
		attrs = append(attrs, keyMaxTokens.Int(r.MaxTokens))
	}
	if p.UsageEstimated {
		attrs = append(attrs, KeyUsageEstimated.Bool(true))
	}
	if len(p.FinishReasons) > 0 {
		attrs = append(attrs, finishReasons(in, p.FinishReasons))
	}
	if p.ID != "" {
		attrs = append(attrs, keyResponseID.String(in.clean(p.ID)))
	}
	if r.ServerAddress != "" {
		attrs = append(attrs, semconv.ServerAddress(in.clean(r.ServerAddress)))
		if r.ServerPort > 0 {
			attrs = append(attrs, semconv.ServerPort(r.ServerPort))
		}
	}
	if r.InputSize > 0 {
		attrs = append(attrs, KeyInputSize.Int64(r.InputSize))
	}
	if inf.ttft > 0 {
		attrs = append(attrs, KeyTimeToFirstChunk.Float64(inf.ttft.Seconds()))
	}
	if mem, ok := in.memory(); ok {
		attrs = in.recordMemory(inf.ctx, mem, attrs)
	}
	attrs = in.runtimeAttrs(attrs)
	attrs = append(attrs, inf.extra...)
	return attrs, nEvent
}

// attrPool recycles attribute buffers: the SDKs copy what they keep.
var attrPool = sync.Pool{New: func() any { b := make([]attribute.KeyValue, 0, 32); return &b }}

// Infer runs fn, the caller's inference, inside an inference span named
// "{operation} {model}", records the GenAI metrics and the audit or failure event, and returns
// fn's results. A nil Instrumenter means one with the global providers.
//
// If fn panics, the span ends with error.type=panic and the panic continues.
func Infer[T any](ctx context.Context, in *Instrumenter, req Request, fn func(context.Context) (T, Response, error)) (T, error) {
	if in == nil {
		in = defaultInstrumenter()
	}
	if in.disabled {
		out, _, err := fn(ctx)
		return out, err
	}
	ctx, span, s := in.begin(ctx, &req)
	if !span.IsRecording() && in.quiet(ctx) {
		// Nothing records: run fn in the span's context and end the span, even on a panic.
		defer span.End()
		out, _, err := fn(ctx)
		return out, err
	}
	inf := Inference{req: req}
	in.fill(ctx, span, s, &inf)
	defer func() {
		if r := recover(); r != nil {
			inf.End(panicError{r})
			panic(r)
		}
	}()
	out, resp, err := fn(ctx)
	inf.resp = resp
	inf.End(err)
	return out, err
}

// String returns a short description for debugging.
func (inf *Inference) String() string {
	return inf.req.Operation + " " + inf.shape.model + " ended=" + strconv.FormatBool(inf.ended)
}

// finishKVs holds the attribute for the single finish reasons servers send ("stop", "length",
// ...), so the common case does not build a slice value per request.
var finishKVs = func() map[string]attribute.KeyValue {
	m := map[string]attribute.KeyValue{}
	for _, r := range []string{"stop", "length", "content_filter", "tool_calls", "error", "eos"} {
		m[r] = keyFinishReasons.StringSlice([]string{r})
	}
	return m
}()

func finishReasons(in *Instrumenter, reasons []string) attribute.KeyValue {
	if len(reasons) == 1 {
		if kv, ok := finishKVs[reasons[0]]; ok {
			return kv
		}
	}
	fr := make([]string, len(reasons))
	for i, f := range reasons {
		fr[i] = in.clean(f)
	}
	return keyFinishReasons.StringSlice(fr)
}
