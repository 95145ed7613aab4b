package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/otel-mlx/otel-mlx/internal/backtest"
)

// FuzzReplay feeds arbitrary file contents to the OTLP JSON replay: every line is either
// processed or reported, never a panic.
func FuzzReplay(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"chat m","endTimeUnixNano":"5","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]}]}]}]}` + "\n" +
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"mlx.model.policy.denied"}]}]}]}` + "\n{bad\n"))
	f.Add([]byte("\n\n{}\n[]\n\"x\"\n"))
	f.Add([]byte(`{"resourceSpans":1,"resourceLogs":2}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := newReplayer(backtest.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer r.shutdown()
		var out bytes.Buffer
		bad, err := r.replay(bytes.NewReader(in), &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(in, []byte{'\n'}) + 1
		if bad > lines {
			t.Fatalf("%d bad lines out of %d", bad, lines)
		}
	})
}
