// Package securityevents drives the instrumentation library (otelmlx, with the OpenTelemetry
// SDK) through the security events that scenario traffic cannot hold, because only the
// instrumentation's policy and error handling make them, and returns them as pdata: the input
// of the Sigma rule tests (deploy/sigma/eventsgen) and of the alerting end-to-end test
// (deploy/prometheus/sendscenario -live).
package securityevents

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// Service is the service.name of the instrumented process.
const Service = "mlx-sigma-guarded"

// Generate drives the instrumentation library (otelmlx, with the OpenTelemetry SDK) through
// the security events the scenario cannot make, because only the instrumentation's policy and
// error handling produce them: a load whose digest differs from the one pinned for its model
// name (mlx.model.integrity.mismatch), a load from a source outside the allowlist
// (mlx.model.policy.denied, rule source.allowlist), a pickle load the policy admits
// (mlx.model.load.succeeded with mlx.model.unsafe=true, format pickle) and an inference that
// ran out of memory (mlx.inference.failed and mlx.resource.exhausted), oom times (at least
// one). The models are real files in a temporary folder. The records are returned as the SDK
// exported them, with their times moved to at (one second apart, in the order made) so that
// they fall in the caller's event time.
func Generate(ctx context.Context, at time.Time, oom int) (plog.Logs, error) {
	dir, err := os.MkdirTemp("", "eventsgen-models-")
	if err != nil {
		return plog.Logs{}, err
	}
	defer os.RemoveAll(dir)
	allowed := filepath.Join(dir, "allowed")
	elsewhere := filepath.Join(dir, "downloads")
	for _, d := range []string{allowed, elsewhere} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return plog.Logs{}, err
		}
	}
	tensors, err := writeModel(allowed, "llama-pinned.safetensors", safetensors())
	if err != nil {
		return plog.Logs{}, err
	}
	stray, err := writeModel(elsewhere, "llama-stray.safetensors", safetensors())
	if err != nil {
		return plog.Logs{}, err
	}
	// A legacy checkpoint: protocol 2 pickle of {"a": 1}, content the pickle scanner grades
	// as data only, admitted by the policy's allow_pickle_up_to.
	legacy, err := writeModel(allowed, "legacy.pkl", []byte("\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."))
	if err != nil {
		return plog.Logs{}, err
	}

	exp := &recorder{}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName(Service)))
	if err != nil {
		return plog.Logs{}, err
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res))
	defer func() { _ = lp.Shutdown(ctx); _ = tp.Shutdown(ctx) }()
	policy := &otelmlx.Policy{
		Mode:            otelmlx.Enforce,
		AllowedSources:  []string{"file://" + filepath.ToSlash(allowed) + "/"},
		AllowedFormats:  []string{"safetensors", "pickle"},
		AllowPickleUpTo: "low",
		// Not the digest of the file: the model was replaced after it was pinned.
		PinnedDigests: map[string]string{"llama-pinned": strings.Repeat("ab", 32)},
	}
	in, err := otelmlx.New(otelmlx.WithTracerProvider(tp), otelmlx.WithLoggerProvider(lp), otelmlx.WithPolicy(policy),
		otelmlx.WithIdentityKey([]byte("eventsgen-identity-key-0123456789")))
	if err != nil {
		return plog.Logs{}, err
	}
	loader := func(context.Context) (int, error) { return 1, nil }
	var ie *otelmlx.IntegrityError
	if _, _, err := otelmlx.Load(ctx, in, otelmlx.ModelRef{Name: "llama-pinned", Source: tensors}, loader); !errors.As(err, &ie) {
		return plog.Logs{}, fmt.Errorf("pinned load: got %v, want an integrity mismatch", err)
	}
	var pe *otelmlx.PolicyError
	if _, _, err := otelmlx.Load(ctx, in, otelmlx.ModelRef{Name: "llama-stray", Source: stray}, loader); !errors.As(err, &pe) || pe.Rule != otelmlx.RuleSourceAllowed {
		return plog.Logs{}, fmt.Errorf("stray load: got %v, want a source.allowlist denial", err)
	}
	if _, info, err := otelmlx.Load(ctx, in, otelmlx.ModelRef{Name: "legacy-pickle", Source: legacy}, loader); err != nil || !info.Unsafe {
		return plog.Logs{}, fmt.Errorf("pickle load: got %v (unsafe %v), want an admitted unsafe load", err, info.Unsafe)
	}
	for i := 0; i < max(oom, 1); i++ {
		_, err = otelmlx.Infer(ctx, in, otelmlx.Request{Operation: mlxconv.OperationChat, Model: "llama-pinned", Identity: "batch-job-7"},
			func(context.Context) (string, otelmlx.Response, error) {
				return "", otelmlx.Response{}, fmt.Errorf("[metal::malloc] attempting to allocate 96 GiB: %w", otelmlx.ErrResourceExhausted)
			})
		if !errors.Is(err, otelmlx.ErrResourceExhausted) {
			return plog.Logs{}, fmt.Errorf("inference: got %v, want resource exhausted", err)
		}
	}
	return exp.logs(at), nil
}

// recorder is an SDK log exporter that keeps the records it is given.
type recorder struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (r *recorder) Export(_ context.Context, records []sdklog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range records {
		r.records = append(r.records, rec.Clone())
	}
	return nil
}

func (*recorder) Shutdown(context.Context) error   { return nil }
func (*recorder) ForceFlush(context.Context) error { return nil }

// logs converts the records to pdata as an OTLP exporter would, times moved to at.
func (r *recorder) logs(at time.Time) plog.Logs {
	r.mu.Lock()
	defer r.mu.Unlock()
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(string(semconv.ServiceNameKey), Service)
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i, rec := range r.records {
		lr := lrs.AppendEmpty()
		ts := pcommon.NewTimestampFromTime(at.Add(time.Duration(i) * time.Second))
		lr.SetTimestamp(ts)
		lr.SetObservedTimestamp(ts)
		lr.SetEventName(rec.EventName())
		lr.SetSeverityNumber(plog.SeverityNumber(rec.Severity()))
		lr.SetSeverityText(rec.SeverityText())
		if b := rec.Body(); b.Type() != attribute.EMPTY {
			putValue(lr.Body(), b)
		}
		lr.SetTraceID(pcommon.TraceID(rec.TraceID()))
		lr.SetSpanID(pcommon.SpanID(rec.SpanID()))
		rec.WalkAttributes(func(kv attribute.KeyValue) bool {
			putValue(lr.Attributes().PutEmpty(string(kv.Key)), kv.Value)
			return true
		})
	}
	return ld
}

func putValue(dst pcommon.Value, v attribute.Value) {
	switch v.Type() {
	case attribute.BOOL:
		dst.SetBool(v.AsBool())
	case attribute.INT64:
		dst.SetInt(v.AsInt64())
	case attribute.FLOAT64:
		dst.SetDouble(v.AsFloat64())
	case attribute.STRING:
		dst.SetStr(v.AsString())
	default:
		// Slices: kept as their JSON, as a SIEM that flattens events shows them.
		b, _ := json.Marshal(v.AsInterface())
		dst.SetStr(string(b))
	}
}

func writeModel(dir, name string, content []byte) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, content, 0o644)
}

// safetensors is a valid one-tensor safetensors file.
func safetensors() []byte {
	hdr, _ := json.Marshal(map[string]any{"w": map[string]any{"dtype": "F32", "shape": []int{2}, "data_offsets": []int{0, 8}}})
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.Write(hdr)
	b.Write(make([]byte, 8))
	return b.Bytes()
}
