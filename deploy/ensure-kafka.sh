#!/usr/bin/env bash
# Make sure Apache Kafka can run here for the tests and the bench: a Java runtime and Maven (from
# Debian's packages, as root, when missing) and the broker's jars, fetched once from Maven
# Central into the cache (deploy/kafka/fetch-jars.sh). Prints where the broker's jars are. (Kafka
# Connect's and Debezium's jars, which only the CDC path needs, are deploy/connect/fetch-jars.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "Apache Kafka needs ${missing[*]}; install them (as root)" >&2; exit 1; }
  echo "installing ${missing[*]} from Debian's packages ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
    >/tmp/coins-kafka-install.log 2>&1 \
    || { echo "installing ${missing[*]} failed: see /tmp/coins-kafka-install.log" >&2; exit 1; }
fi
deploy/kafka/fetch-jars.sh
