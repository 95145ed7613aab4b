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
	"strings"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/internal/pickle"
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
	// Polyglot is set on a pickle that is also valid in another format (Detail starts with
	// "polyglot"): it is refused whatever grade of pickle a policy admits.
	Polyglot bool
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
//
// Every file is also read as a pickle stream, whatever its first byte and whatever format its
// header claims: content that parses as a complete pickle (opcodes up to STOP, as CPython's
// unpickler would read them; nothing is executed), or whose prefix imports and calls something
// before it fails, is pickle and unsafe. A file that is also valid in another format is a
// polyglot: loaded as that format it looks harmless, loaded with pickle it runs code.
func Reader(r io.ReaderAt, size int64) (Result, error) {
	res, err := byHeader(r, size)
	if err != nil || (res.Format == Pickle && res.Unsafe) {
		return res, err
	}
	pk, err := pickleStream(r, size)
	if err != nil {
		return Result{}, err
	}
	if pk == "" {
		return res, nil
	}
	if res.Format != Unknown && res.Err == nil {
		return Result{Format: Pickle, Unsafe: true, Polyglot: true, Detail: mlxconv.FormatDetailPolyglot + ": valid " + string(res.Format) + " and " + pk}, nil
	}
	return Result{Format: Pickle, Unsafe: true, Detail: pk}, nil
}

// pickleLimits bound the pickle read of a file of any format: most files fail at their first
// bytes; a stream still valid at a limit is treated as pickle.
var pickleLimits = pickle.Limits{MaxOps: 1 << 24}

// pickleStream reads the start of r as a pickle stream and describes it when it is one: a
// complete stream, a stream still valid where a scan limit stopped it, or a prefix that calls
// a global before its fault. It returns "" for content that is not a pickle.
func pickleStream(r io.ReaderAt, size int64) (string, error) {
	// Most content is decided by its first bytes: scan a prefix first, and read the whole file
	// through the scanner (which skips payloads without reading them) only when the stream is
	// still valid where the prefix ends.
	var buf [512]byte
	n, err := r.ReadAt(buf[:min(int64(len(buf)), max(size, 0))], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	res, err := pickle.ScanBytes(buf[:n], pickleLimits)
	if int64(n) == size || !errors.Is(err, pickle.ErrTruncated) {
		return pickleVerdict(res, err, false)
	}
	res, err = pickle.ScanAt(r, size, pickleLimits)
	return pickleVerdict(res, err, false)
}

// pickleVerdict turns a scan into a description ("" when not a pickle). cut says the input was
// only a prefix of the content (a zip member's head), so a stream valid to its end counts.
func pickleVerdict(res *pickle.Result, err error, cut bool) (string, error) {
	var perr *pickle.Error
	if err != nil && !errors.As(err, &perr) {
		return "", err // the reader failed
	}
	proto := ""
	if res != nil && res.Protocol > 0 {
		proto = fmt.Sprintf(", protocol %d", res.Protocol)
	}
	switch {
	case err == nil:
		return fmt.Sprintf("a complete pickle stream (%d opcodes%s)", res.Ops, proto), nil
	case errors.Is(err, pickle.ErrLimit) && ((res != nil && res.Ops >= minCutOps) || strings.IndexByte(lineOps, perr.Op) >= 0):
		// Valid until a bound stopped the scan: after many opcodes, or in a text line longer
		// than the scanner reads (CPython reads lines of any length: a polyglot hides its
		// header in one). A binary length past the input limit at the start is no pickle.
		return "a pickle stream still valid at the scan limit", nil
	case cut && errors.Is(err, pickle.ErrTruncated) && res != nil && res.Ops >= minCutOps:
		return fmt.Sprintf("a pickle stream (%d opcodes read%s)", res.Ops, proto), nil
	}
	if res != nil {
		for _, g := range res.Globals {
			if g.Called {
				return "a pickle prefix that calls " + clip(g.String()) + " before it fails", nil
			}
		}
	}
	return "", nil
}

// lineOps are the protocol 0 opcodes whose argument is a text line.
const lineOps = "ILFSVcipgP"

// minCutOps is how many valid opcodes a cut prefix needs to be taken for a pickle: random bytes
// rarely form even two.
const minCutOps = 8

func byHeader(r io.ReaderAt, size int64) (Result, error) {
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
		// safetensors here; Reader then decides whether it is also a pickle (a polyglot).
		// Content that fails and also starts like a pickle is the more dangerous of the two.
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
