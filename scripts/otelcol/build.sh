#!/usr/bin/env bash
# Builds the otelcol-mlx distribution from builder-config.yaml.
#
#   OTELCOL_CORE_VERSION=v0.165.0 scripts/otelcol/build.sh BUILDER OUT_BINARY [GOOS/GOARCH ...]
#
# ocb generates the sources only (--skip-get-modules --skip-compilation): its own `go mod tidy`
# fails on a test-only dependency of contrib's fileexporter that the module proxy does not serve.
# Without get-modules ocb writes no go.mod, so this script writes it from the same config (one
# require per gomod line, otelcol at OTELCOL_CORE_VERSION as ocb itself would add, one replace per
# replaces line) and builds with GOFLAGS=-mod=mod, which
# resolves the build graph only (test dependencies of dependencies are never fetched).
# Extra GOOS/GOARCH arguments cross-build the same sources with CGO_ENABLED=0 next to OUT_BINARY.
set -euo pipefail
builder=$1; out=$2; shift 2
core=${OTELCOL_CORE_VERSION:?set OTELCOL_CORE_VERSION to the ocb version, e.g. v0.165.0}
root=$(cd "$(dirname "$0")/../.." && pwd)
cfg=$root/builder-config.yaml
src=$root/$(awk '/^  output_path:/ {print $2}' "$cfg")
mkdir -p "$src"
"$builder" --config "$cfg" --skip-get-modules --skip-compilation >/dev/null 2>"$src/.builder.log" || { cat "$src/.builder.log"; exit 1; }

cd "$src"
goversion=$(awk '/^go / {print $2}' "$root/go.mod")
# Keep an existing go.mod/go.sum when the config did not change: -mod=mod then has nothing to
# resolve and the build starts at once.
stamp=$( (sha256sum "$cfg" "$root/go.mod"; echo "$core") | sha256sum | cut -c1-16)
if [ ! -f go.mod ] || [ "$(cat .gomod-stamp 2>/dev/null)" != "$stamp" ]; then
  rm -f go.mod
  go mod init go.opentelemetry.io/collector/cmd/otelcol-mlx >/dev/null 2>&1
  go mod edit -go="$goversion"
  # Without it, otelcol (and with it the service) would resolve to the oldest version the
  # components ask for.
  go mod edit -require="go.opentelemetry.io/collector/otelcol@$core"
  awk '/^ *- gomod:/ {print $3 "@" $4}' "$cfg" | sort -u | while read -r req; do go mod edit -require="$req"; done
  awk '/^replaces:/ {r=1; next} /^[^ #]/ {r=0} r && /^ *- / {sub(/^ *- /, ""); print}' "$cfg" | while read -r old _ new; do
    go mod edit -replace="$old=$new"
  done
  echo "$stamp" > .gomod-stamp
fi
export GOFLAGS="-mod=mod ${GOFLAGS:-}"
go build -trimpath -ldflags='-s -w' -o "$out" .
for target in "$@"; do
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out-${target%/*}-${target#*/}" .
done
