#!/usr/bin/env bash
# Packs the CPU benchmarks of the instrumentation, the MLX loads and mlxanomaly into one archive
# that runs on another Linux machine of the same architecture without Go, Python or network:
# test binaries, the libmlx of the venv, and the header of the 256 MiB model (its weights are
# random bytes made on the spot). Used to see which figures are the machine's.
#
#   scripts/bench-portable.sh pack [OUT.tar.xz]     here, after `make mlx-models`
#   tar -xJf OUT.tar.xz -C DIR && DIR/run.sh RESULTS  there
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = pack ] || { sed -n 2,9p "$0"; exit 2; }
out=$(realpath -m "${2:-build/bench-portable.tar.xz}")
py=.venv/bin/python
big=build/models/big/model.safetensors
[ -x "$py" ] && [ -f "$big" ] || { echo "bench-portable: run 'make mlx-models' first" >&2; exit 1; }
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
eval "$(scripts/mlx/mlx-env.sh "$py")"
site=$(dirname "$MLX_DIR")
mkdir -p "$stage/site/mlx"
cp -r "$site/mlx/lib" "$stage/site/mlx/"
[ -d "$site/mlx_cpu.libs" ] && cp -r "$site/mlx_cpu.libs" "$stage/site/"
(cd instrumentation &&
  go test -c -o "$stage/otelmlx.test" ./otelmlx &&
  go test -c -o "$stage/artifact.test" ./otelmlx/internal/artifact)
(cd runtime/mlxc && go test -tags mlx -c -o "$stage/mlxc.test" .)
(cd processor/mlxanomaly && go test -c -o "$stage/mlxanomaly.test" .)
"$py" - "$big" "$stage/big-header.bin" <<'PY'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = f.read(n)
with open(sys.argv[2], 'wb') as f:
    f.write(struct.pack('<Q', n) + header)
PY
cat > "$stage/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the packed benchmarks; results go to the directory given (default ./results).
set -u
here=$(cd "$(dirname "$0")" && pwd); res=$(realpath -m "${1:-results}"); mkdir -p "$res"; cd "$here"
export LD_LIBRARY_PATH="$here/site/mlx/lib:$here/site/mlx_cpu.libs"
{ nproc; lscpu | grep -E 'Model name|^CPU\(s\)'; } > "$res/machine.txt" 2>&1
[ -f big.safetensors ] || (cat big-header.bin; head -c 268435456 /dev/urandom) > big.safetensors
[ -f blob ] || head -c 1073741824 /dev/urandom > blob
for _ in 1 2 3 4 5; do ./otelmlx.test -test.run '^$' -test.bench 'Infer|HTTP' -test.benchmem -test.count 1 | grep '^Benchmark'; done > "$res/otelmlx.txt" 2>&1
./mlxanomaly.test -test.run '^$' -test.bench '^BenchmarkTraces$' -test.benchtime 20000x -test.count 3 > "$res/mlxanomaly.txt" 2>&1
./mlxanomaly.test -test.run '^$' -test.bench '^BenchmarkEngineObserve$' -test.count 3 >> "$res/mlxanomaly.txt" 2>&1
OTELMLX_BENCH_BIG_MODEL=$here/big.safetensors ./mlxc.test -test.run '^$' -test.bench 'Load256MiB$' -test.benchtime 21x > "$res/mlxc.txt" 2>&1
OTELMLX_BENCH_BIG_MODEL=$here/big.safetensors ./mlxc.test -test.run '^$' -test.bench 'Load256MiBCold' -test.benchtime 9x >> "$res/mlxc.txt" 2>&1
OTELMLX_BENCH_FILE=$here/blob ./artifact.test -test.run '^$' -test.bench 'HashFile' -test.benchtime 3x -test.count 3 > "$res/hash.txt" 2>&1
for _ in 1 2 3; do s=$(date +%s%N); openssl dgst -sha256 blob >/dev/null 2>&1; e=$(date +%s%N); echo "openssl_us $(( (e - s) / 1000 ))"; done >> "$res/hash.txt"
echo "results in $res"
RUN
chmod +x "$stage/run.sh"
mkdir -p "$(dirname "$out")"
tar -C "$stage" -cJf "$out" .
echo "bench-portable: $out ($(du -h "$out" | cut -f1))"
