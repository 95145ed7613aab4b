package otelmlx

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/artifact"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sanitize"
)

// Bucket boundaries the GenAI semantic conventions advise for these histograms.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
)

// Instrumenter records MLX model loads and inferences. Create one per service with New and
// share it; it is safe for concurrent use.
type Instrumenter struct {
	cfg     config
	tracer  trace.Tracer
	logger  log.Logger
	pseudo  *pseudonymizer
	inspect *artifact.Inspector

	// The GenAI instruments come from semconv's genaiconv (name, unit, description); they
	// record through Inst() with attribute sets built once per (operation, model).
	opDuration   genaiconv.ClientOperationDuration
	tokenUsage   genaiconv.ClientTokenUsage
	loadDuration metric.Float64Histogram
	memActive    metric.Int64Gauge
	memPeak      metric.Int64Gauge
	memCache     metric.Int64Gauge

	device, version string

	// disabled is set when every provider is a no-op implementation: the wrappers then only
	// call the caller's function, since a no-op span in the context is indistinguishable from
	// the parent span to anything the function does.
	disabled bool

	// shapes caches, per (operation, model), the span name and the metric attribute sets, so
	// the hot path allocates neither; bounded by WithMaxModels.
	shapes   atomic.Pointer[map[shapeKey]*shape] // copy-on-write: read on every call, written once per new model
	shapesMu sync.Mutex
	// last is the shape of the previous call: most services serve one model with one
	// operation, and two string comparisons are cheaper than hashing both strings.
	last atomic.Pointer[shape]
}

type shapeKey struct{ op, model string }

type shape struct {
	op, model0 string // the key as given (model0 unsanitized)
	spanName   string
	model      string // sanitized
	ok         attribute.Set
	input      attribute.Set
	output     attribute.Set
	// Record options built once from the sets: building them per call costs two allocations.
	okOpt, inputOpt, outputOpt []metric.RecordOption
	errs                       sync.Map // error.type -> []metric.RecordOption
	nerrs                      atomic.Int32
}

// New returns an Instrumenter. It fails only on an invalid option: an identity key shorter
// than 16 bytes or an invalid policy.
func New(opts ...Option) (*Instrumenter, error) {
	cfg := newConfig(opts)
	if cfg.policy != nil {
		if err := cfg.policy.Validate(); err != nil {
			return nil, err
		}
	}
	pseudo, err := newPseudonymizer(cfg.identityKey)
	if err != nil {
		return nil, err
	}
	in := &Instrumenter{
		cfg:     cfg,
		tracer:  cfg.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version())),
		logger:  cfg.loggerProvider.Logger(ScopeName, log.WithInstrumentationVersion(Version())),
		pseudo:  pseudo,
		inspect: artifact.NewInspector(cfg.cacheFiles),
		device:  cfg.device,
		version: cfg.mlxVersion,
	}
	_, noTraces := cfg.tracerProvider.(tracenoop.TracerProvider)
	_, noMetrics := cfg.meterProvider.(metricnoop.MeterProvider)
	_, noLogs := cfg.loggerProvider.(lognoop.LoggerProvider)
	in.disabled = noTraces && noMetrics && noLogs
	if d, ok := cfg.memory.(deviceReporter); ok && in.device == "" {
		in.device = d.Device()
	}
	if v, ok := cfg.memory.(versionReporter); ok && in.version == "" {
		in.version = v.Version()
	}
	meter := cfg.meterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
	// Instrument creation fails only for invalid names, which these are not; New returns the
	// first error of a meter that still fails.
	var errs [6]error
	in.opDuration, errs[0] = genaiconv.NewClientOperationDuration(meter,
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.tokenUsage, errs[1] = genaiconv.NewClientTokenUsage(meter,
		metric.WithExplicitBucketBoundaries(tokenBuckets...))
	in.loadDuration, errs[2] = meter.Float64Histogram(mlxconv.MetricModelLoadDuration,
		metric.WithDescription("Duration of MLX model loads, policy and digest checks included."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.memActive, errs[3] = meter.Int64Gauge(mlxconv.MetricMemoryActive,
		metric.WithDescription("Memory held by live MLX arrays."), metric.WithUnit("By"))
	in.memPeak, errs[4] = meter.Int64Gauge(mlxconv.MetricMemoryPeak,
		metric.WithDescription("Peak MLX memory since the last reset."), metric.WithUnit("By"))
	in.memCache, errs[5] = meter.Int64Gauge(mlxconv.MetricMemoryCache,
		metric.WithDescription("Freed memory the MLX allocator keeps for reuse."), metric.WithUnit("By"))
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return in, nil
}

var (
	defaultOnce sync.Once
	defaultIn   *Instrumenter
)

// defaultInstrumenter serves callers that pass a nil *Instrumenter: the global providers,
// no policy.
func defaultInstrumenter() *Instrumenter {
	defaultOnce.Do(func() {
		in, err := New()
		if err != nil {
			panic("otelmlx: default instrumenter: " + err.Error())
		}
		defaultIn = in
	})
	return defaultIn
}

// clean sanitizes a string from outside the process with the configured bound.
func (in *Instrumenter) clean(s string) string { return sanitize.String(s, in.cfg.maxAttrLen) }

// shapeFor returns the cached span name and metric attributes for (op, model). Past the model
// bound, names are reported as _OTHER in metrics and the span name is built per call.
func (in *Instrumenter) shapeFor(op, model string) *shape {
	if s := in.last.Load(); s != nil && s.op == op && s.model0 == model {
		return s
	}
	k := shapeKey{op, model}
	cur := in.shapes.Load()
	if cur != nil {
		if s, ok := (*cur)[k]; ok {
			in.last.Store(s)
			return s
		}
	}
	clean := in.clean(model)
	metricModel := clean
	overflow := cur != nil && len(*cur) >= in.cfg.maxModels
	if overflow {
		metricModel = mlxconv.ModelOther
	}
	s := &shape{op: op, model0: model, spanName: mlxconv.InferenceSpanName(op, clean), model: clean}
	base := []attribute.KeyValue{keyOperation.String(op), providerMLX, keyRequestModel.String(metricModel)}
	s.ok = attribute.NewSet(base...)
	s.input = attribute.NewSet(append(base[:3:3], keyTokenType.String(mlxconv.TokenTypeInput))...)
	s.output = attribute.NewSet(append(base[:3:3], keyTokenType.String(mlxconv.TokenTypeOutput))...)
	s.okOpt = []metric.RecordOption{metric.WithAttributeSet(s.ok)}
	s.inputOpt = []metric.RecordOption{metric.WithAttributeSet(s.input)}
	s.outputOpt = []metric.RecordOption{metric.WithAttributeSet(s.output)}
	if overflow {
		return s
	}
	in.shapesMu.Lock()
	defer in.shapesMu.Unlock()
	cur = in.shapes.Load()
	next := make(map[shapeKey]*shape, 1+lenOf(cur))
	if cur != nil {
		if existing, ok := (*cur)[k]; ok {
			return existing
		}
		for key, v := range *cur {
			next[key] = v
		}
	}
	next[k] = s
	in.shapes.Store(&next)
	return s
}

func lenOf(m *map[shapeKey]*shape) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// errOpt returns the duration record option for a failed operation.
func (s *shape) errOpt(errType string) []metric.RecordOption {
	if v, ok := s.errs.Load(errType); ok {
		return v.([]metric.RecordOption)
	}
	kvs := append(s.ok.ToSlice(), keyErrorType.String(errType))
	opt := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	if s.nerrs.Load() < 32 {
		s.errs.Store(errType, opt)
		s.nerrs.Add(1)
	}
	return opt
}

// memory reads allocator statistics, if a source is configured.
func (in *Instrumenter) memory() (MemoryStats, bool) {
	if in.cfg.memory == nil {
		return MemoryStats{}, false
	}
	m, err := in.cfg.memory.MemoryStats()
	return m, err == nil
}

// recordMemory records the memory gauges and returns the span attributes for them.
func (in *Instrumenter) recordMemory(ctx context.Context, m MemoryStats, attrs []attribute.KeyValue) []attribute.KeyValue {
	if in.memActive.Enabled(ctx) {
		opt := metric.WithAttributeSet(in.deviceSet())
		in.memActive.Record(ctx, m.Active, opt)
		in.memPeak.Record(ctx, m.Peak, opt)
		in.memCache.Record(ctx, m.Cache, opt)
	}
	return append(attrs, KeyMemoryActive.Int64(m.Active), KeyMemoryPeak.Int64(m.Peak), KeyMemoryCache.Int64(m.Cache))
}

var deviceSets sync.Map

func (in *Instrumenter) deviceSet() attribute.Set {
	if v, ok := deviceSets.Load(in.device); ok {
		return v.(attribute.Set)
	}
	var s attribute.Set
	if in.device != "" {
		s = attribute.NewSet(KeyDevice.String(in.device))
	}
	deviceSets.Store(in.device, s)
	return s
}

// runtimeAttrs appends mlx.device and mlx.version when known.
func (in *Instrumenter) runtimeAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	if in.device != "" {
		attrs = append(attrs, KeyDevice.String(in.device))
	}
	if in.version != "" {
		attrs = append(attrs, KeyVersion.String(in.version))
	}
	return attrs
}

// emit sends one security event with the trace context of ctx.
func (in *Instrumenter) emit(ctx context.Context, name string, sev log.Severity, body string, ts time.Time, attrs []attribute.KeyValue) {
	if !in.logger.Enabled(ctx, log.EnabledParameters{Severity: sev, EventName: name}) {
		return
	}
	var r log.Record
	r.SetEventName(name)
	r.SetTimestamp(ts)
	r.SetObservedTimestamp(ts) // the event is observed where it happens; saves the SDK a clock read
	r.SetSeverity(sev)
	r.SetSeverityText(sev.String())
	r.SetBody(attribute.StringValue(body))
	r.AddAttributes(attrs...)
	in.logger.Emit(ctx, r)
}

// Sanitize escapes control and direction-changing characters in s and bounds its length as
// this Instrumenter records every string from outside. Use it for values passed to
// Inference.SetAttributes.
func (in *Instrumenter) Sanitize(s string) string { return in.clean(s) }

// Pseudonym returns the enduser.pseudo.id this Instrumenter records for identity.
func (in *Instrumenter) Pseudonym(identity string) string { return in.pseudo.id(identity) }
