#!/usr/bin/env bash
# Print the path of a `kustomize` for the tests that build deploy/k8s's overlays: one on PATH, or
# the one cached under ~/.cache/coins, else built from its Go module at the pinned version (the
# Go module proxy is reachable where no download site is; a few minutes, once), else, without Go,
# a wrapper running `kubectl kustomize` (kubectl embeds kustomize; its version may differ from the
# pin). Exit 1 with what to install when none can be had. Ops use either `kustomize build` or
# `kubectl kustomize`/`kubectl apply -k`.
set -euo pipefail
VERSION=v5.7.1
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/coins"
CACHE="$CACHE_DIR/kustomize-$VERSION"
GO_BIN_DIR=${GO_BIN_DIR:-/usr/local/go/bin}  # where Go's own installer puts it
if command -v kustomize >/dev/null; then command -v kustomize; exit 0; fi
if [ -x "$CACHE" ]; then echo "$CACHE"; exit 0; fi
command -v go >/dev/null || PATH="$PATH:$GO_BIN_DIR"
if command -v go >/dev/null; then
  echo "building kustomize $VERSION from its Go module (a few minutes, once) ..." >&2
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  GOBIN="$work" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
  mkdir -p "$CACHE_DIR" && mv "$work/kustomize" "$CACHE"
  echo "$CACHE"
  exit 0
fi
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  wrapper="$CACHE_DIR/kustomize-via-kubectl"
  mkdir -p "$CACHE_DIR"
  printf '#!/bin/sh\n# `kustomize build DIR` as `kubectl kustomize DIR` (deploy/ensure-kustomize.sh)\n[ "${1:-}" = build ] && shift\nexec kubectl kustomize "$@"\n' >"$wrapper"
  chmod +x "$wrapper"
  echo "no kustomize and no Go: using kubectl's embedded kustomize ($wrapper)" >&2
  echo "$wrapper"
  exit 0
fi
cat >&2 <<MSG
kustomize is missing, and neither Go (to build kustomize $VERSION) nor kubectl (whose
\`kubectl kustomize\` builds the same) is installed. Install one of:
  - kustomize itself, on PATH;
  - Go 1.22.7 or newer, as kustomize $VERSION needs (on PATH or in $GO_BIN_DIR;
    Debian bookworm's golang-go, 1.19, is older);
  - kubectl (apt-get install kubectl, where a Kubernetes package source is set up).
MSG
exit 1
