#!/usr/bin/env bash
# Make sure `promtool` is on PATH for the tests that check the alert rules (Debian's `prometheus`
# package ships it). As root, install it when missing. Exit 1 with the reason when it cannot be had.
set -uo pipefail
command -v promtool >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then echo "promtool is missing, and only root may install it here" >&2; exit 1; fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
  >/tmp/coins-promtool-install.log 2>&1 \
  || { echo "installing prometheus (promtool) failed: see /tmp/coins-promtool-install.log" >&2; exit 1; }
# The package starts its server where systemd runs; nothing here needs it.
command -v systemctl >/dev/null && systemctl disable --now prometheus >/dev/null 2>&1 || true
command -v promtool >/dev/null
