#!/usr/bin/env bash
# Make sure a Docker engine answers, with the tools the builds and checks use (debootstrap, and
# Compose v2 through deploy/ensure-compose.sh). As root, install what is missing from Debian's
# packages and start dockerd with host networking only. Exit 1 with the reason when no engine can be had.
set -uo pipefail
missing=()
for tool in dockerd:docker.io debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
    >/tmp/coins-docker-install.log 2>&1 || echo "installing ${missing[*]} failed: see /tmp/coins-docker-install.log" >&2
fi
compose() { "$(dirname "$0")/ensure-compose.sh" || echo "Compose v2 could not be had: the compose test will fail" >&2; }
docker info >/dev/null 2>&1 && { compose; exit 0; }
if [ "$(id -u)" != 0 ]; then echo "no Docker engine runs, and only root may start one here" >&2; exit 1; fi
command -v dockerd >/dev/null || { echo "dockerd is not installed and could not be" >&2; exit 1; }
log=/tmp/coins-dockerd.log
nohup dockerd --bridge=none --iptables=false >"$log" 2>&1 &
for _ in $(seq 60); do docker info >/dev/null 2>&1 && { compose; exit 0; }; sleep 1; done
echo "dockerd with overlay2 did not start; retrying with the vfs storage driver" >&2
pkill dockerd; sleep 2
nohup dockerd --bridge=none --iptables=false --storage-driver=vfs >"$log" 2>&1 &
for _ in $(seq 60); do docker info >/dev/null 2>&1 && { compose; exit 0; }; sleep 1; done
echo "no Docker engine could be started: see $log" >&2
exit 1
