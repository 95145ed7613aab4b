// Package sniff identifies model weight formats from file content, never from file names, and
// validates the structural fields an attacker controls (lengths, counts, offsets) before any of
// them is used to size a read or an allocation.
package sniff

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Format is a model weight format as named by the otel-mlx data contract (mlx.model.format).
type Format string

// Formats of the data contract.
const (
	Safetensors Format = mlxconv.FormatSafetensors
	GGUF        Format = mlxconv.FormatGGUF
	NPZ         Format = mlxconv.FormatNPZ
	NPY         Format = mlxconv.FormatNPY
	Pickle      Format = mlxconv.FormatPickle
	Unknown     Format = mlxconv.FormatUnknown
)

// Limits on attacker-controlled sizes. They are far above what real MLX models use and far below
// what would let a crafted header exhaust memory.
const (
	// MaxSafetensorsHeader is the largest safetensors JSON header accepted (100 MB, as the
	// reference implementation caps it).
	MaxSafetensorsHeader = 100_000_000
	// MaxGGUFTensors and MaxGGUFMetadata bound the counts in a GGUF header.
	MaxGGUFTensors  = 1 << 20
	MaxGGUFMetadata = 1 << 20
	// MaxNPYHeader bounds the text header of a .npy file.
	MaxNPYHeader = 1 << 20
	// MaxZipEntries bounds the members of an .npz archive.
	MaxZipEntries = 1 << 16
)

// Result is the verdict on one file.
type Result struct {
	Format Format
	// Unsafe is true when loading the file can execute code: pickle, and .npy arrays of Python
	// objects (which numpy can only load through pickle).
	Unsafe bool
	// Err is set when the content is recognisably of Format but structurally invalid: a parse
	// fault, which the data contract reports at ERROR severity.
	Err error
	// Detail is a short human description (protocol or version, tensor count).
	Detail string
}

// FormatError describes a structural fault in a file of a known format.
type FormatError struct {
	Format Format
	Reason string
}

func (e *FormatError) Error() string { return string(e.Format) + ": " + e.Reason }

func fault(f Format, format string, args ...any) Result {
	return Result{Format: f, Err: &FormatError{Format: f, Reason: fmt.Sprintf(format, args...)}}
}

// ErrTooSmall is wrapped by I/O errors of files too short to hold any known header.
var ErrTooSmall = errors.New("file too small to identify")

// Reader identifies the format of the size bytes readable from r. It returns an error only when
// r fails; malformed content is reported in Result.Err.
func Reader(r io.ReaderAt, size int64) (Result, error) {
	var head [24]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Result{}, err
	}
	h := head[:n]
	switch {
	case bytes.HasPrefix(h, []byte("GGUF")):
		return ggufHeader(h, size), nil
	case bytes.HasPrefix(h, []byte("\x93NUMPY")):
		return npy(r, size)
	case bytes.HasPrefix(h, []byte("PK\x03\x04")), bytes.HasPrefix(h, []byte("PK\x05\x06")):
		return npz(r, size)
	case n >= 9 && h[8] == '{':
		// A safetensors length prefix can begin with the bytes of a pickle PROTO opcode (a
		// 896-byte header starts 0x80 0x03), so content that validates as safetensors is
		// safetensors; content that fails and also starts like a pickle is treated as the
		// more dangerous of the two.
		res, err := safetensors(r, size, binary.LittleEndian.Uint64(h[:8]))
		if err == nil && res.Err != nil && isPickle(h) {
			return Result{Format: Pickle, Unsafe: true, Detail: pickleDetail(h)}, nil
		}
		return res, err
	case isPickle(h):
		return Result{Format: Pickle, Unsafe: true, Detail: pickleDetail(h)}, nil
	}
	return Result{Format: Unknown}, nil
}

// isPickle recognises the PROTO opcode that starts every pickle of protocol 2 and later, and the
// GLOBAL opcode ("c" module "\n" name "\n") that protocol 0 and 1 files that build objects start with.
func isPickle(h []byte) bool {
	if len(h) >= 2 && h[0] == 0x80 && h[1] <= 5 {
		return true
	}
	if len(h) >= 3 && h[0] == 'c' {
		for i, c := range h[1:] {
			switch {
			case c == '\n':
				return i > 0
			case c == '.' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'):
			default:
				return false
			}
		}
	}
	return false
}

func pickleDetail(h []byte) string {
	if h[0] == 0x80 {
		return fmt.Sprintf("protocol %d", h[1])
	}
	return "protocol 0 GLOBAL"
}
