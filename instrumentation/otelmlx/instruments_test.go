package otelmlx

import (
	"context"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
)

// The GenAI histograms carry semconv's name, unit and description and the explicit bucket
// boundaries the GenAI semantic conventions specify (copied here from the specification,
// so a change on either side fails).
func TestGenAIInstrumentsFollowTheSpec(t *testing.T) {
	specDuration := []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	specTokens := []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}

	h := newHarness(t)
	_, err := Infer(context.Background(), h.in, Request{Operation: OperationChat, Model: "m"},
		func(context.Context) (int, Response, error) {
			return 0, Response{InputTokens: 3, OutputTokens: 5}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	ms := h.metrics(t)

	dur, ok := ms[genaiconv.ClientOperationDuration{}.Name()]
	if !ok {
		t.Fatalf("no %s metric; got %v", genaiconv.ClientOperationDuration{}.Name(), ms)
	}
	if dur.Unit != (genaiconv.ClientOperationDuration{}).Unit() || dur.Description != (genaiconv.ClientOperationDuration{}).Description() {
		t.Errorf("duration unit %q description %q", dur.Unit, dur.Description)
	}
	if got := dur.Data.(metricdata.Histogram[float64]).DataPoints[0].Bounds; !slices.Equal(got, specDuration) {
		t.Errorf("duration bounds %v, want %v", got, specDuration)
	}

	tok, ok := ms[genaiconv.ClientTokenUsage{}.Name()]
	if !ok {
		t.Fatalf("no %s metric", genaiconv.ClientTokenUsage{}.Name())
	}
	if tok.Unit != (genaiconv.ClientTokenUsage{}).Unit() || tok.Description != (genaiconv.ClientTokenUsage{}).Description() {
		t.Errorf("token usage unit %q description %q", tok.Unit, tok.Description)
	}
	pts := tok.Data.(metricdata.Histogram[int64]).DataPoints
	if len(pts) != 2 {
		t.Fatalf("token usage has %d points, want input and output", len(pts))
	}
	for _, p := range pts {
		if !slices.Equal(p.Bounds, specTokens) {
			t.Errorf("token bounds %v, want %v", p.Bounds, specTokens)
		}
	}
}
