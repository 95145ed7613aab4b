// Package mlxc runs MLX in the process through cgo: a thin C ABI shim (mlxc.h, mlxc.cpp) over
// the MLX C++ API of libmlx, as the MLX wheels ship it.
//
// It loads weight files (.safetensors, .gguf, .npz, .npy) onto a device, runs the forward pass
// of a multilayer-perceptron classifier stored as layers.N.weight / layers.N.bias, reads the
// MLX allocator statistics and the device and version, and provides the memory-statistics
// source of otelmlx (StatsSource).
//
// The cgo part is built only with the build tag mlx, so the default build of the module needs
// no MLX; without the tag every function returns ErrNotBuilt. Build with
//
//	CGO_CXXFLAGS="-I$MLX/include" CGO_LDFLAGS="-L$MLX/lib -Wl,-rpath,$MLX/lib" go test -tags mlx .
//
// where $MLX is the directory of the installed mlx Python package; `make test-mlx` derives it
// from the virtual environment.
//
// Errors: an MLX C++ exception is caught in the shim and returned as a Go error; nothing in
// the shim exits or aborts the process. MLX's C++ API reports every failure by throwing (the
// exit-on-error default handler belongs to mlx-c, which is not used here), so catching at the
// C boundary is the replacement of the default handler.
//
// Memory: the arrays of a loaded model are owned by a C++ handle that Weights.Close frees;
// a cleanup registered with runtime.AddCleanup frees it if Close is never called.
package mlxc
