"""Calls to an outside processor over HTTP: every call bounded, retried, and never raised.

A processor can be slow, fail, or succeed without our hearing of it. A call here is retried
(same request, so the processor's own dedupe by our id makes a retry safe) on a timeout, a
lost connection or a 5xx, each attempt bounded by `timeout_s`; when every attempt fails the
outcome is unknown (None), and a reconciler settles it later by asking the processor.
`deadline_s` is the longest a call can take: idempotency leases and reconciler bounds are
checked against it at startup. What those bounds need is that no request leaves after it: a
request is written only by the call's `write_by` (its start plus `deadline_s`, or sooner: the
caller's `send_by`, such as the end of the claim it holds), checked before each attempt and again
once a new connection is made, since the name lookup before it is bounded by no timeout of ours
(a resolver can take tens of seconds).
Each attempt is a span (CLIENT) under the current one, and its request carries that span's
`traceparent`: the processor's side joins the trace.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError

from shared.clock import utcnow
from shared.observability import metrics, tracing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundSettings:
    """Where a processor is and how long to wait for it."""

    name: str  # the adapter asked for by name, e.g. "sandbox"
    url: str
    service: str = ""  # who calls, for the coins_processor_calls_total metric
    timeout_ms: int = 3000
    attempts: int = 2
    backoff_ms: int = 100

    @property
    def deadline_s(self) -> float:
        """The longest one call can take, retries and backoff included."""
        return (self.attempts * self.timeout_ms + (self.attempts - 1) * self.backoff_ms) / 1000


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict


class Outbound:
    """A processor's HTTP endpoint, with a pooled session whose new connections check the call's
    `write_by` once connected."""

    def __init__(self, settings: OutboundSettings):
        self.settings = settings
        self.session = requests.Session()
        self.session.mount("http://", _WriteByAdapter())
        self.session.mount("https://", _WriteByAdapter())

    def call(
        self, method: str, path: str, *, json: dict | None = None, send_by: datetime | None = None
    ) -> Reply | None:
        """The processor's answer (any status below 500), or None if it stayed unknown. send_by:
        when (wall clock, aware) no request may be written any more, e.g. the end of the claim the
        caller holds (default and latest: the call's start plus `deadline_s`)."""
        latest = time.monotonic() + self.settings.deadline_s
        if send_by is not None:
            latest = min(latest, time.monotonic() + (send_by - utcnow()).total_seconds())
        token = _WRITE_BY.set(latest)
        try:
            reply = self._call(method, path, json=json)
        finally:
            _WRITE_BY.reset(token)
        s = self.settings
        outcome = "unknown" if reply is None else "answered"
        metrics.PROCESSOR_CALLS.labels(service=s.service, processor=s.name, outcome=outcome).inc()
        return reply

    def _call(self, method: str, path: str, *, json: dict | None) -> Reply | None:
        s = self.settings
        url = s.url.rstrip("/") + path
        for attempt in range(1, s.attempts + 1):
            if time.monotonic() >= _WRITE_BY.get():
                log.warning("processor call past its deadline: not sent", extra={"processor": s.url, "path": path})
                return None
            span = self._span(method, url, attempt)
            try:
                response = self.session.request(
                    method, url, json=json, timeout=s.timeout_ms / 1000, headers=span.headers()
                )
                span.set(http__response__status_code=response.status_code)
                if response.status_code < 500:
                    return Reply(response.status_code, _json(response))
                span.fail(error_type=str(response.status_code))
                log.warning(
                    "processor answered %s",
                    response.status_code,
                    extra={"processor": s.url, "path": path, "attempt": attempt},
                )
            except requests.RequestException as exc:  # timeout, refused, reset: the outcome is unknown
                span.fail(type(exc).__name__, error_type=type(exc).__name__)
                log.warning(
                    "processor unreachable",
                    extra={"processor": s.url, "path": path, "attempt": attempt, "error": type(exc).__name__},
                )
            finally:
                span.end()
            if attempt < s.attempts:
                time.sleep(s.backoff_ms / 1000)
        return None

    def _span(self, method: str, url: str, attempt: int) -> tracing.Span:
        """One attempt's span (CLIENT), a child of the current span (or the first of a trace)."""
        parts = urlsplit(url)
        return tracing.start(
            method,
            kind=tracing.CLIENT,
            parent=tracing.current(),
            attributes={
                "http.request.method": method,
                "url.full": url,
                "server.address": parts.hostname or "",
                "server.port": parts.port or (443 if parts.scheme == "https" else 80),
                "peer.service": self.settings.name,
                **({"http.request.resend_count": attempt - 1} if attempt > 1 else {}),
            },
        )


# -- no request written past the call's deadline ------------------------------------------------
_WRITE_BY: ContextVar[float] = ContextVar("outbound_write_by", default=float("inf"))


def _past_write_by(connection) -> None:
    """Once a new connection is made (name looked up, TCP and TLS done), right before the request
    is written on it: refuse to write past the call's `write_by` (the outcome stays unknown)."""
    if time.monotonic() >= _WRITE_BY.get():
        connection.close()
        raise ConnectTimeoutError(connection, "connected past the call's deadline: the request was not sent")


class _WriteByHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _past_write_by(self)


class _WriteByHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _past_write_by(self)


class _WriteByHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WriteByHTTPConnection


class _WriteByHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WriteByHTTPSConnection


class _WriteByAdapter(HTTPAdapter):
    """requests' adapter, its pools making connections that check `write_by` once connected."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WriteByHTTPPool, "https": _WriteByHTTPSPool}


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, or JSON nested past the parser's stack: not understood
        return {}
    return body if isinstance(body, dict) else {}


class ReportUnavailable(Exception):
    """A processor's settlement report could not be read (unreachable, or an answer not understood)."""


def read_report(
    http: Outbound, path: str, *, cursor: str | None, page_size: int = 200
) -> tuple[list[dict], str | None]:
    """One page of a processor's settlement report, paged by an opaque cursor: (rows, next cursor or
    None). Unlike a charge or a payout, a report has no unknown outcome to settle later: it raises."""
    query = f"?limit={page_size}" + (f"&cursor={requests.utils.quote(cursor, safe='')}" if cursor else "")
    reply = http.call("GET", path + query)
    if reply is None:
        raise ReportUnavailable(f"{http.settings.url}{path}: no answer")
    data, next_cursor = reply.body.get("data"), reply.body.get("next_cursor")
    if reply.status != 200 or not isinstance(data, list) or not isinstance(next_cursor, str | None):
        raise ReportUnavailable(f"{http.settings.url}{path}: answered {reply.status}")
    return data, next_cursor
