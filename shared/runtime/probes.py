"""The metrics and probe port of a background process (relay, consumer, payout worker).

`GET /metrics` (Prometheus text), `GET /health/live` and `GET /health/ready` (JSON, 200 or 503),
served on METRICS_PORT by a daemon thread, so a scrape or a probe never waits on the process's loop.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client.exposition import ThreadingWSGIServer

from shared.observability import metrics
from shared.runtime.health import ProcessHealth, Verdict

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    timeout = 5  # seconds a connection may take to send its request (and to read the answer)

    def log_message(self, format, *args):  # noqa: A002 - probes every few seconds would flood the log
        pass


class _BoundedServer(ThreadingWSGIServer):
    """A thread per connection, at most `max_connections` at once: one more is closed at once, so
    slow or idle clients can hold at most that many threads, each for at most `deadline_s` in all
    (the handler's timeout bounds one read; a byte every few seconds would renew it)."""

    max_connections = 16
    deadline_s = 10.0
    request_queue_size = 128  # a burst of connections waits in the kernel's queue, not in SYN retries

    def server_activate(self):
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        deadline = threading.Timer(self.deadline_s, _cut, (request,))
        deadline.daemon = True
        deadline.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            deadline.cancel()
            self._slots.release()


def _cut(connection: socket.socket) -> None:
    """Past its deadline: a blocked read or write on the connection returns at once."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


def probe_app(
    health: ProcessHealth, collectors: Iterable = (), ready_checks: Callable[[], dict[str, str]] | None = None
):
    """The WSGI app: metrics from this process (and `collectors`), liveness, readiness."""
    collectors = list(collectors)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body, content_type = metrics.render(collectors)
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == "/health/live":
            return _json(start_response, health.live())
        if path == "/health/ready":
            return _json(start_response, health.ready(ready_checks() if ready_checks else None))
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


def _json(start_response, verdict: Verdict):
    start_response("200 OK" if verdict.ok else "503 Service Unavailable", [("Content-Type", "application/json")])
    return [json.dumps(verdict.body).encode()]


def serve(port: int, app, host: str = "0.0.0.0"):
    """Serve `app` on host:port from a daemon thread; returns the server (for shutdown())."""
    server = make_server(host, port, app, server_class=_BoundedServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="probes").start()
    log.info("serving metrics and probes", extra={"port": server.server_port})
    return server
