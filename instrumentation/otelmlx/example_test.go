package otelmlx_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.opentelemetry.io/otel/log/logtest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// recorded returns an Instrumenter whose spans and security events go to in-memory recorders,
// so the examples can print what a backend would receive.
func recorded(opts ...otelmlx.Option) (*otelmlx.Instrumenter, *tracetest.SpanRecorder, *logtest.Recorder) {
	spans, logs := tracetest.NewSpanRecorder(), logtest.NewRecorder()
	in, err := otelmlx.New(append([]otelmlx.Option{
		otelmlx.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))),
		otelmlx.WithLoggerProvider(logs),
		otelmlx.WithIdentityKey([]byte("an example key of 32 bytes......")),
	}, opts...)...)
	if err != nil {
		panic(err)
	}
	return in, spans, logs
}

func eventNames(logs *logtest.Recorder) []string {
	var out []string
	for _, recs := range logs.Result() {
		for _, r := range recs {
			out = append(out, r.EventName)
		}
	}
	return out
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// writeModel writes a one-tensor safetensors file.
func writeModel(dir string) string {
	header := `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(append(b, header...), 0, 0, 128, 63)
	p := filepath.Join(dir, "tiny.safetensors")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		panic(err)
	}
	return p
}

// Load checks a model against the policy before the loader runs, digests it while it loads
// and records a load span and a security event. A pickle renamed to .safetensors is refused:
// its loader never runs.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "otelmlx-example")
	defer os.RemoveAll(dir)
	path := writeModel(dir)
	policy := &otelmlx.Policy{Mode: otelmlx.Enforce, AllowedFormats: []string{mlxconv.FormatSafetensors}}
	in, spans, logs := recorded(otelmlx.WithPolicy(policy))
	ctx := context.Background()

	model, info, err := otelmlx.Load(ctx, in, otelmlx.ModelRef{Name: "tiny", Source: path},
		func(context.Context) (string, error) { return "weights of " + filepath.Base(path), nil })
	fmt.Println(model, err)
	fmt.Println(info.Format, info.Decision, info.Rule, len(info.SHA256))

	pickle := filepath.Join(dir, "evil.safetensors")
	_ = os.WriteFile(pickle, []byte("\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."), 0o600)
	_, _, err = otelmlx.Load(ctx, in, otelmlx.ModelRef{Name: "evil", Source: pickle},
		func(context.Context) (string, error) { panic("never called") })
	var denied *otelmlx.PolicyError
	fmt.Println(errors.As(err, &denied), denied.Rule)

	for _, s := range spans.Ended() {
		fmt.Printf("%s: decision=%s error.type=%q\n", s.Name(), spanAttr(s, mlxconv.AttrPolicyDecision), spanAttr(s, mlxconv.AttrErrorType))
	}
	fmt.Println(eventNames(logs))
	// Output:
	// weights of tiny.safetensors <nil>
	// safetensors allow allowlist 64
	// true format.unsafe
	// load_model tiny: decision=allow error.type=""
	// load_model evil: decision=deny error.type="policy_denied"
	// [mlx.model.load.succeeded mlx.model.policy.denied]
}

// Infer wraps one inference of any binding: the span carries the GenAI attributes, the
// caller's pseudonym (never the identity) and the usage; the audit event points to it.
func ExampleInfer() {
	in, spans, logs := recorded()
	out, err := otelmlx.Infer(context.Background(), in, otelmlx.Request{
		Operation: otelmlx.OperationChat, Model: "tiny-lm", RequestID: "req-1",
		Identity: "alice@example.com", ClientAddress: "192.0.2.7", MaxTokens: 16,
	}, func(ctx context.Context) (string, otelmlx.Response, error) {
		return "hello", otelmlx.Response{InputTokens: 5, OutputTokens: 1, FinishReasons: []string{"stop"}, ID: "resp-1"}, nil
	})
	fmt.Println(out, err)
	s := spans.Ended()[0]
	fmt.Println(s.Name())
	fmt.Println(spanAttr(s, mlxconv.AttrGenAIUsageOutputTokens), spanAttr(s, mlxconv.AttrGenAIResponseID), len(spanAttr(s, mlxconv.AttrEnduserPseudoID)))
	fmt.Println(eventNames(logs))
	// Output:
	// hello <nil>
	// chat tiny-lm
	// 1 resp-1 32
	// [mlx.inference.completed]
}

// StartInference serves streamed responses: the first chunk sets the time to first chunk,
// End records the outcome once.
func ExampleInstrumenter_StartInference() {
	in, spans, _ := recorded()
	ctx, inf := in.StartInference(context.Background(), otelmlx.Request{Operation: otelmlx.OperationChat, Model: "tiny-lm"})
	_ = ctx // pass ctx to the generation, so its spans are children of the inference span
	for i, chunk := range []string{"hel", "lo"} {
		if i == 0 {
			inf.FirstToken()
		}
		_ = chunk // write the chunk to the client
	}
	inf.SetResponse(otelmlx.Response{OutputTokens: 2})
	inf.End(nil)

	s := spans.Ended()[0]
	fmt.Println(s.Name(), spanAttr(s, mlxconv.AttrGenAIResponseTimeToFirstChunk) != "", spanAttr(s, mlxconv.AttrGenAIUsageOutputTokens))
	// Output:
	// chat tiny-lm true 2
}
