// Package otelmlx instruments MLX model loads and inferences with OpenTelemetry: spans,
// security events (log records with an EventName) and metrics, named as the otel-mlx data
// contract names them.
//
// It works with any MLX binding. A load is wrapped by [Load], which classifies the model
// source, identifies the format from the file content, applies a [Policy], computes the model
// digest (while the caller's function reads the model, or from a cache keyed by file identity)
// and reports the outcome. An inference is wrapped by [Infer], or by [Instrumenter.StartInference]
// and [Inference.End] where the work outlives one function call (streaming responses).
//
// Nothing that came from outside the process is recorded as is: paths, model names, identities
// and error messages are escaped and bounded, identities are replaced by a keyed HMAC, and prompt
// and response content is recorded only with [WithContentCapture].
//
// The package depends on the OpenTelemetry API only; the SDK and exporters are the service's
// choice, and the global providers are used unless options name others.
package otelmlx
