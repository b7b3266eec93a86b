#!/bin/sh
# Runs one process of the service named by $SERVICE: web, relay, consumer, worker, reconciler,
# migrate, wait-migrated (a Deployment's init container: waits until the release's migration Job
# is done), topics (creates every topic; any service image can run it), coinsctl (the ops CLI:
# audit, prune, dlq, outbox, rewind), or healthcheck (the image's HEALTHCHECK: the liveness of
# whichever long-running role this container runs).
set -eu
role="${1:-web}"
case "$role" in
  web|relay|consumer|worker|reconciler) echo "$role" >/tmp/coins-role 2>/dev/null || true ;;
esac
case "$role" in
  web)      export GUNICORN_BIND="${GUNICORN_BIND:-0.0.0.0:${PORT:-8000}}"
            exec gunicorn -c python:shared.http.gunicorn_conf "services.${SERVICE}.entrypoints.wsgi:create_app()" ;;
  relay)    exec python3 -m "services.${SERVICE}.entrypoints.relay" ;;
  consumer) exec python3 -m "services.${SERVICE}.entrypoints.consumer" ;;
  worker)   exec python3 -m "services.${SERVICE}.entrypoints.payout_worker" ;;
  reconciler) exec python3 -m "services.${SERVICE}.entrypoints.reconciler" ;;
  migrate)  exec python3 -m shared.db.migrate "${SERVICE}" ;;
  wait-migrated) exec python3 -m shared.db.migrate --wait "${SERVICE}" ;;
  topics)   exec python3 -m coinsctl topics ;;
  coinsctl) shift; exec python3 -m coinsctl "$@" ;;
  healthcheck)
    case "$(cat /tmp/coins-role 2>/dev/null || true)" in
      web) port="${PORT:-8000}" ;;
      relay|consumer|worker|reconciler) port="${METRICS_PORT:-9100}" ;;
      *) exit 0 ;;  # a one-shot role (migrate, topics, coinsctl): nothing to probe
    esac
    exec python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "http://127.0.0.1:${port}/health/live" ;;
  *)        exec "$@" ;;
esac
