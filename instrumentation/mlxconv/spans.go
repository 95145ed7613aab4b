package mlxconv

// Span name templates. A placeholder in braces stands for the attribute value (or, for
// {model}, the logical model name); LoadSpanName and InferenceSpanName fill them in.
const (
	// SpanNameLoadModel is the name of a model-load span.
	SpanNameLoadModel = "load_model {model}"
	// SpanNameInference is the name of an inference span.
	SpanNameInference = "{gen_ai.operation.name} {gen_ai.request.model}"
)

// LoadSpanName returns the span name of a load of model (SpanNameLoadModel filled in).
func LoadSpanName(model string) string { return OperationLoadModel + " " + model }

// InferenceSpanName returns the span name of an inference (SpanNameInference filled in).
func InferenceSpanName(operation, model string) string { return operation + " " + model }
