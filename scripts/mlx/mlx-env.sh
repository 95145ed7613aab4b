#!/usr/bin/env bash
# Prints the environment that builds and runs Go code against the libmlx of an installed MLX
# wheel, as shell assignments: eval "$(scripts/mlx/mlx-env.sh .venv/bin/python)".
# The directories are asked of the installed package (python -m mlx --cmake-dir), never
# hard-coded; the wheel keeps include/ and lib/ next to (or above) its CMake directory.
set -euo pipefail
py=${1:?usage: mlx-env.sh PYTHON}
cmake_dir=$("$py" -m mlx --cmake-dir)
dir=$cmake_dir
while [ "$dir" != "/" ] && [ ! -f "$dir/include/mlx/mlx.h" ]; do dir=$(dirname "$dir"); done
if [ ! -f "$dir/include/mlx/mlx.h" ]; then
  echo "mlx-env.sh: no include/mlx/mlx.h at or above $cmake_dir (python -m mlx --cmake-dir)" >&2
  exit 1
fi
lib=$dir/lib
if ! ls "$lib"/libmlx.* >/dev/null 2>&1; then
  echo "mlx-env.sh: no libmlx in $lib" >&2
  exit 1
fi
version=$("$py" -c 'import mlx.core as mx; print(mx.__version__)')
bindir=$(dirname "$py")
q() { printf '%q' "$1"; }
echo "export MLX_DIR=$(q "$dir")"
echo "export MLX_VERSION=$(q "$version")"
echo "export CGO_ENABLED=1"
echo "export CGO_CXXFLAGS=$(q "${CGO_CXXFLAGS:-} -I$dir/include")"
# rpath: binaries find libmlx (and the BLAS it links) where the wheel put it, without LD_LIBRARY_PATH.
echo "export CGO_LDFLAGS=$(q "${CGO_LDFLAGS:-} -L$lib -Wl,-rpath,$lib")"
echo "export OTELMLX_MLX_VERSION=$(q "$version")"
echo "export OTELMLX_MLX_LM_SERVER=$(q "$bindir/mlx_lm.server")"
