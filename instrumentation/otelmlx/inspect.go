package otelmlx

import (
	"context"
	"fmt"
	"os"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/artifact"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/sniff"
)

// FileFormat is what the content sniffer that sets mlx.model.format found in one file.
type FileFormat struct {
	// Format is an mlx.model.format value (mlxconv.FormatSafetensors, ...).
	Format string
	// Unsafe is true when loading the file can run code (pickle, object arrays).
	Unsafe bool
	// Fault is set when the content is recognisably of Format but structurally invalid.
	Fault error
	// Detail is a short description (version, tensor count), as in mlx.model.format.detail.
	Detail string
}

// SniffFile reports the format of the file at path from its content, with the sniffer Load
// uses, so a runtime can load a file as what it is rather than as what its name says. It
// reads only headers; the error is for a file that cannot be opened or read.
func SniffFile(path string) (FileFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileFormat{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return FileFormat{}, err
	}
	res, err := sniff.Reader(f, st.Size())
	if err != nil {
		return FileFormat{}, fmt.Errorf("sniffing %s: %w", path, err)
	}
	return FileFormat{Format: string(res.Format), Unsafe: res.Unsafe, Fault: res.Err, Detail: res.Detail}, nil
}

// HashFile returns the hex SHA-256 of the file at path: the mlx.model.sha256 of a
// single-file model, and the value to pin in a policy's pinned_digests. It stops early when
// ctx is cancelled.
func HashFile(ctx context.Context, path string) (string, error) {
	return artifact.HashFile(ctx, path)
}
