#!/usr/bin/env bash
# Make sure `docker compose` (Compose v2, the Docker CLI plugin) works. Debian 12 packages only
# Compose v1 (`docker-compose`, Python), so where the plugin is missing it is built from its Go
# module at the pinned version (the Go module proxy is reachable where no download site is) and
# installed as a CLI plugin. The binary is cached under ~/.cache/coins, keyed by the version.
set -euo pipefail
VERSION=v2.40.3
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/coins/docker-compose-$VERSION"
if [ "$(id -u)" = 0 ]; then default_plugins=/usr/local/lib/docker/cli-plugins  # every user's
else default_plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"; fi       # this user's
PLUGINS="${DOCKER_CLI_PLUGINS:-$default_plugins}"

docker compose version >/dev/null 2>&1 && exit 0
if [ ! -x "$CACHE" ]; then
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "Compose v2 is missing and Go is not installed to build it" >&2; exit 1; }
  echo "building Docker Compose $VERSION from its Go module (a few minutes, once) ..." >&2
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  # `go install module@version` refuses this module (its go.mod has exclude directives): build
  # it as the main module from a copy of its source instead.
  src=$(GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  (cd "$work/src" && CGO_ENABLED=0 go build -trimpath -o "$work/docker-compose" \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$VERSION" ./cmd)
  mkdir -p "$(dirname "$CACHE")" && mv "$work/docker-compose" "$CACHE"
fi
mkdir -p "$PLUGINS" && install -m 0755 "$CACHE" "$PLUGINS/docker-compose"
docker compose version >/dev/null
