#!/usr/bin/env bash
# What `make test` needs besides the venv, for PostgreSQL and Kafka from `host` or `containers`
# (tests/support/infra.py chooses; COINS_TEST_INFRA overrides). Installs only as root, and only
# on the host path: the containers path calls neither apt-get nor sudo.
#   host        the machine's PostgreSQL (deploy/ensure-postgres.sh) and Kafka's jars and JVM;
#   containers  the PostgreSQL and Kafka images (deploy/build-images.sh) on a Docker engine.
# Either way the container tests want the images. The fault and CDC tests start, pause and kill a
# broker and a Kafka Connect worker of their own: on this machine's JVM, or (no `java` here, or the
# containers path) in the coins-kafka and coins-connect images (coinsctl/jvm.py, COINS_JAVA).
set -euo pipefail
cd "$(dirname "$0")/.."
infra=${1:?usage: ensure-test-infra.sh host|containers}
echo "PostgreSQL and Kafka for the tests: $infra (COINS_TEST_INFRA=host|containers|auto; tests/support/infra.py)"
if [ "$infra" = host ]; then
  deploy/ensure-postgres.sh
  deploy/ensure-kafka.sh >/dev/null
  deploy/connect/fetch-jars.sh >/dev/null
fi
if deploy/ensure-docker.sh; then
  deploy/build-images.sh
elif [ "$infra" = containers ]; then
  echo "COINS_TEST_INFRA=containers needs a Docker engine this user can reach (the docker group, or DOCKER_HOST)" >&2
  exit 1
else
  echo "*** no Docker engine: the container tests will be skipped ***"
  command -v java >/dev/null || echo "*** and no Java: the fault and CDC tests (a broker and a Kafka Connect worker of their own) will fail ***"
fi
