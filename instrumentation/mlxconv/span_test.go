package mlxconv

import (
	"strings"
	"testing"
)

// The helpers fill in the documented templates.
func TestSpanNames(t *testing.T) {
	if got, want := LoadSpanName("tiny-lm"), strings.Replace(SpanNameLoadModel, "{model}", "tiny-lm", 1); got != want {
		t.Errorf("LoadSpanName = %q, want %q", got, want)
	}
	r := strings.NewReplacer("{"+AttrGenAIOperationName+"}", OperationChat, "{"+AttrGenAIRequestModel+"}", "tiny-lm")
	if got, want := InferenceSpanName(OperationChat, "tiny-lm"), r.Replace(SpanNameInference); got != want {
		t.Errorf("InferenceSpanName = %q, want %q", got, want)
	}
}
