"""Gunicorn settings for every service, from the environment.

Use with `gunicorn -c python:shared.http.gunicorn_conf "services.<name>.entrypoints.wsgi:create_app()"`.
"""

import os
import sys
import tempfile

from shared.http import gunicorn_logging  # imports no prometheus_client (see below)

# Every worker's metrics go to files that `/metrics` (answered by any one worker) adds up, so a
# scrape sees the whole pod. A directory given by the environment is kept (`make run` shares one
# between a service's processes); otherwise a fresh one per start, never the stale files of an
# earlier container. Set here, before any worker imports prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="coins-metrics-")
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gthread that reads each request whole, under header and body deadlines, before a thread serves
# it: a slow client holds no thread (GUNICORN_HEADER_TIMEOUT_S, GUNICORN_BODY_TIMEOUT_S,
# GUNICORN_MAX_READING; shared.http.gunicorn_worker). Also with one thread: the sync worker has no such bound.
worker_class = "shared.http.gunicorn_worker.BufferedThreadWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
limit_request_line = 8190
limit_request_fields = 100
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (master and workers) in the services' JSON, with the same fields.
logger_class = "shared.http.gunicorn_logging.Logger"
logconfig_dict = gunicorn_logging.configure(sys.argv, level=loglevel, accesslog=accesslog)
proc_name = os.environ.get("GUNICORN_PROC_NAME", "coins")
# gunicorn 24+ opens a control socket under $HOME by default: the images' user has none (read-only
# root), and ops manage a pod through Kubernetes, not gunicornc.
control_socket_disable = True


def post_worker_init(worker):
    from shared.runtime.process import settle_heap

    settle_heap()  # the app is loaded: its objects out of the garbage collector's walks


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
