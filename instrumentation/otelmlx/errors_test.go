package otelmlx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// typedErr chooses its own error.type.
type typedErr struct{}

func (typedErr) Error() string     { return "typed" }
func (typedErr) ErrorType() string { return "mlx_shape_mismatch" }

func TestErrorType(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "/srv/models/m.safetensors", Err: fs.ErrNotExist}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), "*errors.errorString"},
		{"wrapped path error", fmt.Errorf("x: %w", pathErr), "*fs.PathError"},
		{"twice wrapped path error", fmt.Errorf("load: %w", fmt.Errorf("read weights: %w", pathErr)), "*fs.PathError"},
		{"named non-pointer type", fmt.Errorf("read: %w", syscall.ENOENT), "syscall.Errno"},
		{"typed", typedErr{}, "mlx_shape_mismatch"},
		{"wrapped typed", fmt.Errorf("forward: %w", typedErr{}), "mlx_shape_mismatch"},
		{"joined typed", errors.Join(errors.New("a"), typedErr{}), "mlx_shape_mismatch"},
		{"joined untyped", errors.Join(pathErr, errors.New("b")), "*errors.joinError"},
		{"two %w", fmt.Errorf("%w and %w", pathErr, errors.New("b")), "*fmt.wrapErrors"},
		{"panic", panicError{v: "boom"}, mlxconv.ErrorTypePanic},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), mlxconv.ErrorTypeContextCanceled},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), mlxconv.ErrorTypeTimeout},
		{"policy", fmt.Errorf("x: %w", &PolicyError{Rule: RuleUnsafeFormat}), mlxconv.ErrorTypePolicyDenied},
		{"integrity", &IntegrityError{}, mlxconv.ErrorTypeIntegrityMismatch},
		{"rejected", Reject("too long"), mlxconv.ErrorTypeRejected},
		{"exhausted", errors.Join(ErrResourceExhausted, errors.New("[metal] out of memory")), mlxconv.ErrorTypeResourceExhausted},
		// The project's values come before an error's own choice.
		{"project value first", errors.Join(typedErr{}, context.Canceled), mlxconv.ErrorTypeContextCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorType(tt.err); got != tt.want {
				t.Errorf("errorType(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// A loader's wrapped error reaches the load span and metric as the inner error's type.
func TestLoadWrappedErrorType(t *testing.T) {
	h := newHarness(t)
	p, _ := writeSafetensors(t, t.TempDir(), "m.safetensors")
	pathErr := &fs.PathError{Op: "open", Path: filepath.Join(filepath.Dir(p), "tokenizer.json"), Err: fs.ErrNotExist}
	_, _, err := Load(context.Background(), h.in, ModelRef{Name: "m", Source: p}, func(context.Context) (int, error) {
		return 0, fmt.Errorf("read weights: %w", pathErr)
	})
	if !errors.Is(err, pathErr) {
		t.Fatalf("err %v", err)
	}
	wantAttrs(t, "span", h.onlySpan(t).Attributes(), map[string]any{mlxconv.AttrErrorType: "*fs.PathError"})
	wantAttrs(t, "event", h.event(t, EventLoadFailed).Attributes, map[string]any{mlxconv.AttrErrorType: "*fs.PathError"})
}
