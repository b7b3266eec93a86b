#!/usr/bin/env bash
# Generate the compose deployment's passwords into deploy/.env (mode 0600), which `docker compose
# -f deploy/compose.yaml` reads: each service's database role and the database servers'
# superusers, and the broker's principals (with the CDC overlay's `connect` principal and
# database role, deploy/compose.cdc.yaml). Values already there are kept (a database keeps the
# password it was first made with); none has a default, and compose refuses to start without them.
set -euo pipefail
ENV_FILE=${1:-"$(dirname "$0")/.env"}
NAMES="PURCHASE_DB_PASSWORD GIFTING_DB_PASSWORD PAYOUT_DB_PASSWORD
PURCHASE_DB_ADMIN_PASSWORD GIFTING_DB_ADMIN_PASSWORD PAYOUT_DB_ADMIN_PASSWORD
KAFKA_ADMIN_PASSWORD KAFKA_PURCHASE_PASSWORD KAFKA_GIFTING_PASSWORD KAFKA_PAYOUT_PASSWORD
KAFKA_CONNECT_PASSWORD COINS_CDC_PASSWORD"
umask 077
touch "$ENV_FILE" && chmod 0600 "$ENV_FILE"
for name in $NAMES; do
  grep -q "^$name=" "$ENV_FILE" || echo "$name=$(python3 -c 'import secrets; print(secrets.token_hex(24))')" >>"$ENV_FILE"
done
echo "$ENV_FILE"
