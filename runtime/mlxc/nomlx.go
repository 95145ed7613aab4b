//go:build !mlx

package mlxc

// Weights is a model's arrays loaded by MLX. This build has no MLX: see ErrNotBuilt.
type Weights struct{}

// Available reports whether this build runs MLX.
func Available() bool { return false }

// Load returns ErrNotBuilt.
func Load(string, Format, Device) (*Weights, error) { return nil, ErrNotBuilt }

// Close does nothing.
func (w *Weights) Close() error { return nil }

// Names returns nil.
func (w *Weights) Names() []string { return nil }

// Shape returns nil.
func (w *Weights) Shape(string) []int64 { return nil }

// NumBytes returns 0.
func (w *Weights) NumBytes() int64 { return 0 }

// Device returns CPU.
func (w *Weights) Device() Device { return CPU }

// PredictMLP returns ErrNotBuilt.
func (w *Weights) PredictMLP([]float32, int) ([]float32, int, error) { return nil, 0, ErrNotBuilt }

// Memory returns ErrNotBuilt.
func Memory() (Stats, error) { return Stats{}, ErrNotBuilt }

// ResetPeakMemory returns ErrNotBuilt.
func ResetPeakMemory() error { return ErrNotBuilt }

// ClearCache returns ErrNotBuilt.
func ClearCache() error { return ErrNotBuilt }

// SetMemoryLimit returns ErrNotBuilt.
func SetMemoryLimit(int64) (int64, error) { return 0, ErrNotBuilt }

// Version returns "".
func Version() string { return "" }

// DeviceAvailable returns false.
func DeviceAvailable(Device) bool { return false }

// DeviceInfo returns ErrNotBuilt.
func DeviceInfo(Device) (map[string]string, error) { return nil, ErrNotBuilt }

// LMLogits returns ErrNotBuilt.
func (w *Weights) LMLogits(LMConfig, []int32) ([]float32, error) { return nil, ErrNotBuilt }

// Generate returns ErrNotBuilt.
func (w *Weights) Generate(LMConfig, []int32, int, int32) ([]int32, error) { return nil, ErrNotBuilt }
