#!/usr/bin/env bash
# Runs each `func FuzzXxx(f *testing.F)` found in the given modules for a short time.
# Usage: fuzz-all.sh DURATION MODULE...
set -euo pipefail
dur=$1; shift
root=$(pwd)
count=0
for m in "$@"; do
  cd "$root/$m"
  # Packages of this module only (nested modules have their own go.mod and are listed separately).
  while IFS= read -r pkg; do
    dir=$(go list -f '{{.Dir}}' "$pkg")
    targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*(f \*testing.F)' "$dir"/*_test.go 2>/dev/null | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/' | sort -u || true)
    for t in $targets; do
      echo "fuzz $pkg $t ($dur)"
      go test -run '^$' -fuzz "^${t}\$" -fuzztime "$dur" "$pkg" >/tmp/fuzz-$t.log 2>&1 || { cat /tmp/fuzz-$t.log; echo "fuzz target $t in $pkg failed"; exit 1; }
      count=$((count+1))
    done
  done < <(go list ./...)
done
echo "fuzz: $count targets ran for $dur each"
