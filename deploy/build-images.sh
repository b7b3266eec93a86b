#!/usr/bin/env bash
# Build the service and sandbox images, the Apache Kafka and Kafka Connect (CDC) images, and (for the container tests) a PostgreSQL image
# on a machine with a Docker engine. Where the public base image cannot be pulled, a stand-in
# base is made from Debian packages with debootstrap; the Dockerfiles stay the ones users run.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-python:3.11.13-slim-bookworm}
PREFIX=${IMAGE_PREFIX:-coins}
TAG=${IMAGE_TAG:-latest}
MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
STANDIN_BASE=coins-python-base:bookworm
PG_ROOTFS=coins-postgres-rootfs:bookworm
JRE_ROOTFS=coins-jre-rootfs:bookworm

export DOCKER_BUILDKIT=0  # the classic builder: no buildx plugin needed
VERSION=$(sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' shared/__init__.py)
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
build() {  # docker build, its chatter kept in a log shown only on failure. Host networking: these
  # engines have no bridge, and the dependency stage reaches PyPI (pip checks the lock's hashes).
  docker build -q --network host --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" "$@" \
    >deploy/.build/build.log 2>&1 || { cat deploy/.build/build.log >&2; return 1; }
}
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debootstrap_image() {  # name, packages
  local name=$1 packages=$2 root
  have_image "$name" && return 0
  command -v debootstrap >/dev/null || { echo "debootstrap is needed to build $name" >&2; exit 1; }
  root=$(mktemp -d)
  echo "building $name from Debian packages ($packages) ..."
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$MIRROR" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import - "$name" >/dev/null
  rm -rf "$root"
}

# 1. The images build their own wheels (deploy/Dockerfile's first stage). Where PyPI is reached
#    through a TLS-inspecting proxy, its CA (this host's bundle: PIP_CERT) goes with the build;
#    copied only when changed, so the dependency layer stays cached.
mkdir -p deploy/.build
CA=${PIP_CERT:-${SSL_CERT_FILE:-}}
if [ -n "$CA" ] && [ -f "$CA" ]; then
  cmp -s "$CA" deploy/.build/pip-ca.pem || cp "$CA" deploy/.build/pip-ca.pem
else
  rm -f deploy/.build/pip-ca.pem
fi

# 2. The base: the public image if it is here or can be pulled, else a stand-in.
if ! have_image "$BASE_IMAGE" && ! docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "$BASE_IMAGE cannot be pulled here; using a stand-in built from Debian packages"
  debootstrap_image "$STANDIN_BASE" python3,python3-venv,ca-certificates
  BASE_IMAGE=$STANDIN_BASE
fi

# 3. One image per service.
for service in purchase gifting payout; do
  build --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg SERVICE="$service" \
    -t "$PREFIX-$service:$TAG" -f deploy/Dockerfile .
  echo "built $PREFIX-$service:$TAG"
done
build --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$PREFIX-sandbox:$TAG" -f deploy/images/sandbox.Dockerfile .
echo "built $PREFIX-sandbox:$TAG"

# 4. Apache Kafka from the pinned jars (what compose and the container tests run), then, for the
#    container tests, PostgreSQL (users with a registry may use the official postgres image).
rm -rf deploy/.build/kafka-jars && cp -r "$(deploy/kafka/fetch-jars.sh)" deploy/.build/kafka-jars
debootstrap_image "$JRE_ROOTFS" openjdk-17-jre-headless,python3
build --build-arg ROOTFS_IMAGE="$JRE_ROOTFS" -t "$PREFIX-kafka:$TAG" -f deploy/images/kafka.Dockerfile .
echo "built $PREFIX-kafka:$TAG"
# Kafka Connect with Debezium (the CDC path: deploy/compose.cdc.yaml, deploy/k8s/components/cdc), on
# the same JRE; its jars need Maven once (cached). BUILD_CONNECT_IMAGE=0 skips it.
if [ "${BUILD_CONNECT_IMAGE:-1}" = 1 ]; then
  rm -rf deploy/.build/connect-jars && cp -r "$(deploy/connect/fetch-jars.sh)" deploy/.build/connect-jars
  build --build-arg ROOTFS_IMAGE="$JRE_ROOTFS" -t "$PREFIX-connect:$TAG" -f deploy/images/connect.Dockerfile .
  echo "built $PREFIX-connect:$TAG"
fi
if [ "${BUILD_TEST_IMAGES:-1}" = 1 ]; then
  debootstrap_image "$PG_ROOTFS" postgresql-15
  build --build-arg ROOTFS_IMAGE="$PG_ROOTFS" -t "$PREFIX-postgres:15" -f deploy/images/postgres.Dockerfile .
  echo "built $PREFIX-postgres:15"
fi
