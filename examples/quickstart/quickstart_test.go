package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/log/logtest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

func TestEmbeddedPolicyPinsTheGeneratedModel(t *testing.T) {
	sum := sha256.Sum256(encodeSafetensors(classifierTensors()))
	if !strings.Contains(string(policyYAML), hex.EncodeToString(sum[:])) {
		t.Fatalf("policy.yaml does not pin the classifier's digest %x; update it", sum)
	}
}

func TestRunRecordsBothPhases(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	logs := logtest.NewRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	s, err := run(context.Background(), t.TempDir(), 14, io.Discard, otelmlx.WithTracerProvider(tp), otelmlx.WithLoggerProvider(logs))
	if err != nil {
		t.Fatal(err)
	}
	if s.Loaded != 1 || s.Inferences != 14 || s.Rejected != 2 || s.Denied != 2 || s.Mismatches != 1 {
		t.Fatalf("summary %+v", s)
	}
	names := map[string]int{}
	for _, sp := range spans.Ended() {
		names[sp.Name()]++
	}
	if names["load_model classifier"] != 3 || names["load_model classifier-v2"] != 1 || names["predict classifier"] != 14 {
		t.Fatalf("spans %v", names)
	}
	events := map[string]int{}
	for _, recs := range logs.Result() {
		for _, r := range recs {
			events[r.EventName]++
		}
	}
	want := map[string]int{
		otelmlx.EventLoadSucceeded: 1, otelmlx.EventInferenceCompleted: 12, otelmlx.EventInferenceRejected: 2,
		otelmlx.EventPolicyDenied: 2, otelmlx.EventIntegrityMismatch: 1,
	}
	for k, v := range want {
		if events[k] != v {
			t.Errorf("%s: %d events, want %d (all: %v)", k, events[k], v, events)
		}
	}
}

func TestPredictRejectsWrongShape(t *testing.T) {
	c, err := loadClassifierFromBytes(t, encodeSafetensors(classifierTensors()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.predict(make([]float32, nIn))
	if err != nil || len(p) != nOut {
		t.Fatal(p, err)
	}
	var sum float32
	for _, v := range p {
		sum += v
	}
	if sum < 0.999 || sum > 1.001 {
		t.Fatalf("probabilities sum to %v", sum)
	}
	if _, err := c.predict(make([]float32, 3)); err == nil {
		t.Fatal("wrong input size accepted")
	}
}
