package otelmlx

import (
	"context"
	"errors"
	"fmt"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// PolicyError is returned by Load when an enforcing policy denies a model. The caller's load
// function was not called.
type PolicyError struct {
	Model  string // sanitized model name
	Source string // sanitized source URI
	Rule   string // the rule that denied the load (RuleSourceAllowed, RuleFormatAllowed, ...)
	Reason string
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("otelmlx: policy denied loading model %q from %s (rule %s): %s", e.Model, e.Source, e.Rule, e.Reason)
}

// IntegrityError is returned by Load when the model's digest differs from the digest pinned for
// its name. In enforce mode the loaded model was discarded (closed, if it implements io.Closer).
type IntegrityError struct {
	Model    string
	Expected string
	Actual   string
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("otelmlx: model %q has sha256 %s, policy pins %s: the model files changed or were replaced", e.Model, e.Actual, e.Expected)
}

// ErrRejected marks an inference refused by input validation or limits. Wrap it (or use
// Reject) in the error an inference function returns and the failure is reported as
// mlx.inference.rejected instead of mlx.inference.failed.
var ErrRejected = errors.New("inference rejected")

// Reject returns an error that wraps ErrRejected with the reason.
func Reject(reason string) error { return fmt.Errorf("%w: %s", ErrRejected, reason) }

// ErrResourceExhausted marks a failure caused by MLX memory limits, out-of-memory or a time
// limit. Errors that wrap it, and context.DeadlineExceeded, are reported as
// mlx.resource.exhausted in addition to the failure event.
var ErrResourceExhausted = errors.New("resource exhausted")

// errorType maps an error to a low-cardinality error.type value: the project's own values
// first, then semconv's rule (an ErrorType() string method anywhere in the chain, else the
// type of the innermost error under fmt wrapping, so a wrapped *fs.PathError is recorded as
// *fs.PathError and not as the wrapper's type).
func errorType(err error) string {
	if err == nil {
		return ""
	}
	return errorTypeOf(err)
}

func errorTypeOf(err error) string {
	var pe *PolicyError
	var ie *IntegrityError
	switch {
	case errors.Is(err, context.Canceled):
		return mlxconv.ErrorTypeContextCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return mlxconv.ErrorTypeTimeout
	case errors.As(err, &pe):
		return mlxconv.ErrorTypePolicyDenied
	case errors.As(err, &ie):
		return mlxconv.ErrorTypeIntegrityMismatch
	case errors.Is(err, ErrRejected):
		return mlxconv.ErrorTypeRejected
	case errors.Is(err, ErrResourceExhausted):
		return mlxconv.ErrorTypeResourceExhausted
	}
	return semconv.ErrorType(err).Value.AsString()
}

func isResourceExhausted(err error) bool {
	return errors.Is(err, ErrResourceExhausted) || errors.Is(err, context.DeadlineExceeded)
}

// panicError carries a recovered panic value into the span before the panic continues.
type panicError struct{ v any }

func (p panicError) Error() string     { return fmt.Sprintf("panic: %v", p.v) }
func (p panicError) ErrorType() string { return mlxconv.ErrorTypePanic }
