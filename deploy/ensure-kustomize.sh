#!/usr/bin/env bash
# Print the path of a `kustomize` for the tests that build deploy/k8s's overlays: one on PATH, or
# the one cached under ~/.cache/coins, else built from its Go module at the pinned version (the
# Go module proxy is reachable where no download site is; a few minutes, once). Exit 1 with the
# reason when none can be had. (`kubectl kustomize` builds the same; ops use either.)
set -euo pipefail
VERSION=v5.7.1
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/coins/kustomize-$VERSION"
if command -v kustomize >/dev/null; then command -v kustomize; exit 0; fi
if [ ! -x "$CACHE" ]; then
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "kustomize is missing and Go is not installed to build it" >&2; exit 1; }
  echo "building kustomize $VERSION from its Go module (a few minutes, once) ..." >&2
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  GOBIN="$work" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
  mkdir -p "$(dirname "$CACHE")" && mv "$work/kustomize" "$CACHE"
fi
echo "$CACHE"
