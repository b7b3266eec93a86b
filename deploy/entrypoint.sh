#!/bin/sh
# Runs one process of the service named by $SERVICE: web, relay, consumer, worker, reconciler,
# migrate, or topics (creates every topic; any service image can run it).
set -eu
role="${1:-web}"
case "$role" in
  web)      export GUNICORN_BIND="${GUNICORN_BIND:-0.0.0.0:${PORT:-8000}}"
            exec gunicorn -c python:shared.gunicorn_conf "services.${SERVICE}.entrypoints.wsgi:app" ;;
  relay)    exec python3 -m "services.${SERVICE}.entrypoints.relay" ;;
  consumer) exec python3 -m "services.${SERVICE}.entrypoints.consumer" ;;
  worker)   exec python3 -m "services.${SERVICE}.entrypoints.payout_worker" ;;
  reconciler) exec python3 -m "services.${SERVICE}.entrypoints.reconciler" ;;
  migrate)  exec python3 -m shared.migrate "${SERVICE}" ;;
  topics)   exec python3 -m shared.kafka_admin ;;
  *)        exec "$@" ;;
esac
