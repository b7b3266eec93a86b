#!/usr/bin/env bash
# Print the directory holding the Kafka Connect worker's classpath (Connect + Debezium) (the runtime closure of pom.xml),
# copying it from Maven Central on the first run. Cached per pom.xml content under
# ${COINS_CACHE_DIR:-~/.cache/coins}, so later runs (and fresh clones) reuse it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
key=$(sha256sum "$here/pom.xml" | cut -c1-16)
dir=${COINS_CACHE_DIR:-$HOME/.cache/coins}/connect-jars-$key
if [ ! -f "$dir/.complete" ]; then
  command -v mvn >/dev/null || { echo "mvn (Maven) is needed to fetch the Kafka Connect and Debezium jars" >&2; exit 1; }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$dir.tmp" >&2
  touch "$dir.tmp/.complete" && rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
