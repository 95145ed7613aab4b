package otelmlxhttp

import (
	"bytes"
	"io"
	"testing"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

// FuzzStreamParser feeds arbitrary bytes, split at arbitrary points, through the observing
// body in each mode: the bytes must come out unchanged and nothing may panic or grow past
// the bounds.
func FuzzStreamParser(f *testing.F) {
	f.Add([]byte("data: {\"id\":\"a\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n"), uint8(3), uint8(1))
	f.Add([]byte("{\"done\":true,\"eval_count\":3}\n"), uint8(1), uint8(2))
	f.Add([]byte("{\"id\":\"x\",\"usage\":{\"prompt_tokens\":1}}"), uint8(7), uint8(0))
	in, err := otelmlx.New(otelmlx.WithTracerProvider(noop.NewTracerProvider()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, step, mode uint8) {
		_, inf := in.StartInference(t.Context(), otelmlx.Request{Remote: true})
		b := &observedBody{rc: io.NopCloser(bytes.NewReader(data)), inf: inf, mode: bodyMode(mode % 3),
			stream: mode%3 != 0, strict: true, san: in.Sanitize, maxDoc: 256, maxLine: 64}
		var out bytes.Buffer
		buf := make([]byte, int(step%16)+1)
		for {
			n, err := b.Read(buf)
			out.Write(buf[:n])
			if len(b.line) > b.maxLine || len(b.doc) > b.maxDoc {
				t.Fatalf("buffers past bounds: line %d doc %d", len(b.line), len(b.doc))
			}
			if err != nil {
				break
			}
		}
		b.Close()
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatal("bytes changed on the way through")
		}
		if !b.ended {
			t.Fatal("inference not ended")
		}
	})
}

// FuzzRequestBody: any request body gives bounded, non-negative fields.
func FuzzRequestBody(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":5,"stream":true}`))
	f.Add([]byte(`{"options":{"num_predict":99999999999999}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ep := range []endpoint{{operation: "chat"}, {operation: "chat", ollama: true}} {
			info := parseRequest(body, ep)
			if info.MaxTokens < 0 || info.MaxTokens > maxTokensBound {
				t.Fatalf("max tokens %d", info.MaxTokens)
			}
		}
	})
}
