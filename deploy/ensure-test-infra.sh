#!/usr/bin/env bash
# What `make test` needs besides the venv, for PostgreSQL and Kafka from `host` or `containers`
# (tests/support/infra.py chooses; COINS_TEST_INFRA overrides). Installs only as root, and only
# on the host path: the containers path calls neither apt-get nor sudo.
#   host        the machine's PostgreSQL (deploy/ensure-postgres.sh) and Kafka's jars and JVM;
#   containers  the PostgreSQL and Kafka images (deploy/build-images.sh) on a Docker engine.
# Either way the container tests want the images, and the fault and CDC tests a JVM here (they
# start, pause and kill a broker and a Kafka Connect worker of their own).
set -euo pipefail
cd "$(dirname "$0")/.."
infra=${1:?usage: ensure-test-infra.sh host|containers}
echo "PostgreSQL and Kafka for the tests: $infra (COINS_TEST_INFRA=host|containers|auto; tests/support/infra.py)"
if [ "$infra" = host ]; then
  deploy/ensure-postgres.sh
  deploy/ensure-kafka.sh >/dev/null
  deploy/connect/fetch-jars.sh >/dev/null
elif command -v java >/dev/null; then
  deploy/kafka/fetch-jars.sh >/dev/null
  deploy/connect/fetch-jars.sh >/dev/null
else
  echo "*** no Java here: the fault and CDC tests (a broker and a Kafka Connect worker of their own) will fail ***"
fi
if deploy/ensure-docker.sh; then
  deploy/build-images.sh
elif [ "$infra" = containers ]; then
  echo "COINS_TEST_INFRA=containers needs a Docker engine this user can reach (the docker group, or DOCKER_HOST)" >&2
  exit 1
else
  echo "*** no Docker engine: the container tests will be skipped ***"
fi
