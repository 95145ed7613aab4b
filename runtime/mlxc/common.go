package mlxc

import (
	"errors"
	"fmt"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
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
		return mlxconv.DeviceGPU
	}
	return mlxconv.DeviceCPU
}

// Format is a weight file format.
type Format string

// Formats the shim loads. FormatAuto sniffs the format from the first bytes of the file.
const (
	FormatAuto        Format = ""
	FormatSafetensors Format = mlxconv.FormatSafetensors
	FormatGGUF        Format = mlxconv.FormatGGUF
	FormatNPZ         Format = mlxconv.FormatNPZ
	FormatNPY         Format = mlxconv.FormatNPY
)

// Stats are MLX allocator statistics in bytes.
type Stats struct {
	Active, Peak, Cache, Limit int64
}

// SniffFormat says which format the file at path holds, from its content, with the same
// sniffer otelmlx uses to record mlx.model.format: a file is loaded as what it is, not as
// what its name says.
func SniffFormat(path string) (Format, error) {
	res, err := otelmlx.SniffFile(path)
	if err != nil {
		return "", err
	}
	switch f := Format(res.Format); f {
	case FormatSafetensors, FormatGGUF, FormatNPZ, FormatNPY:
		return f, nil
	}
	return "", fmt.Errorf("mlxc: %s: not a safetensors, gguf, npz or npy file (content is %s)", path, res.Format)
}
