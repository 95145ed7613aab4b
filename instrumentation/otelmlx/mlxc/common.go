package mlxc

import (
	"errors"
	"fmt"
	"os"
)

// ErrNotBuilt is returned by every function of a build without the mlx build tag.
var ErrNotBuilt = errors.New("mlxc: built without MLX (build with -tags mlx and the MLX cgo flags)")

// ErrClosed is returned when a closed Weights is used.
var ErrClosed = errors.New("mlxc: weights are closed")

// Device is an MLX device type.
type Device int

// Devices.
const (
	CPU Device = 0
	GPU Device = 1
)

// String returns "cpu" or "gpu", the values of mlx.device.
func (d Device) String() string {
	if d == GPU {
		return "gpu"
	}
	return "cpu"
}

// Format is a weight file format.
type Format string

// Formats the shim loads. FormatAuto sniffs the format from the first bytes of the file.
const (
	FormatAuto        Format = ""
	FormatSafetensors Format = "safetensors"
	FormatGGUF        Format = "gguf"
	FormatNPZ         Format = "npz"
	FormatNPY         Format = "npy"
)

// Stats are MLX allocator statistics in bytes.
type Stats struct {
	Active, Peak, Cache, Limit int64
}

// maxMLPInput bounds the elements of one forward-pass input (batch times features), so a
// request cannot make the shim allocate without bound.
const maxMLPInput = 1 << 24

// SniffFormat reads the first bytes of path and says which format it holds: GGUF and npy have
// magic numbers, npz is a zip archive, safetensors starts with a little-endian header length
// followed by '{'.
func SniffFormat(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b [9]byte
	n, _ := f.Read(b[:])
	switch {
	case n >= 4 && string(b[:4]) == "GGUF":
		return FormatGGUF, nil
	case n >= 6 && string(b[:6]) == "\x93NUMPY":
		return FormatNPY, nil
	case n >= 4 && string(b[:4]) == "PK\x03\x04":
		return FormatNPZ, nil
	case n >= 9 && b[8] == '{':
		return FormatSafetensors, nil
	}
	return "", fmt.Errorf("mlxc: %s: not a safetensors, gguf, npz or npy file", path)
}
