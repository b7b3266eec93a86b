"""Liveness and readiness: what each kind of process needs to be restarted or taken out of service.

A web pod is ready while its database answers. The broker being away does not make it unready:
its outbox absorbs the outage (the business write and its event commit together; the relay sends
them later), so taking it out of the Service would turn the one fault the outbox exists for into
an outage. It says so instead, in the body of `/health/ready` and in `coins_broker_up`.

A background process (relay, consumer, worker) is live while its loop turns, and ready while the
signals its work depends on are good (the relay: its last publish was acknowledged; the consumer:
its last batch applied and the broker answers; the worker: its last batch of payouts ran).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.kafka.clients import broker_reachable
from shared.messaging.uow import backlog
from shared.observability import metrics

BROKER_TIMEOUT_S = 0.5  # a probe must answer well inside the kubelet's timeout


@dataclass(frozen=True)
class Verdict:
    ok: bool
    body: dict

    @property
    def status(self) -> int:
        return 200 if self.ok else 503


class ProcessHealth:
    """Signals a background process reports from its loop, read by its probe server's thread."""

    def __init__(self, *, stall_after_s: float = 120.0, clock=time.monotonic):
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._last_beat = clock()
        self._checks: dict[str, str] = {}
        self._lock = threading.Lock()

    def beat(self) -> None:
        """The loop came round: the process is live."""
        self._last_beat = self._clock()

    def report(self, check: str, ok: bool, detail: str = "failing") -> None:
        """The latest state of one readiness signal (e.g. "broker", "database")."""
        with self._lock:
            self._checks[check] = "ok" if ok else detail

    def live(self) -> Verdict:
        stalled = self._clock() - self._last_beat
        ok = stalled <= self.stall_after_s
        return Verdict(ok, {"status": "ok" if ok else "stalled", "seconds_since_loop": round(stalled, 1)})

    def ready(self, extra: dict[str, str] | None = None) -> Verdict:
        with self._lock:
            checks = {**self._checks, **(extra or {})}
        ok = self.live().ok and all(state == "ok" for state in checks.values())
        return Verdict(ok, {"status": "ready" if ok else "not ready", "checks": checks})


class Refreshed:
    """The latest value of a costly reading (a query, a broker connect), read again at most every
    `every_s` and by one caller at a time: whatever the rate of scrapes and probes, they cost at
    most one reading an interval, and while one caller reads the others get the last value
    instead of waiting on a slow database or broker."""

    def __init__(self, read, every_s: float = 1.0, *, clock=time.monotonic):
        self._read, self._every_s, self._clock = read, every_s, clock
        self._lock = threading.Lock()
        self._first = threading.Lock()
        self._value, self._at, self._refreshing = None, None, False

    def get(self):
        """The latest reading (or the error the latest reading raised, raised again)."""
        if self._at is None:
            with self._first:  # the first callers wait for one reading, not one each
                if self._at is None:
                    self._refresh()
        else:
            with self._lock:
                start = self._clock() - self._at >= self._every_s and not self._refreshing
                self._refreshing = self._refreshing or start
            if start:
                self._refresh()
        if isinstance(self._value, Exception):
            raise self._value
        return self._value

    def _refresh(self) -> None:
        try:
            value = self._read()
        except Exception as exc:  # noqa: BLE001 - kept, and raised to each reader until the next reading
            value = exc
        with self._lock:
            self._value, self._at, self._refreshing = value, self._clock(), False


def database_check(engine: Engine) -> str:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"unavailable: {type(exc).__name__}"


def broker_check(bootstrap_servers: str) -> str:
    return "ok" if broker_reachable(bootstrap_servers, timeout_s=BROKER_TIMEOUT_S) else "unreachable"


def web_readiness(engine: Engine, bootstrap_servers: str, outbox: sa.Table) -> Verdict:
    """Ready with the database; the broker and the outbox are reported, not required."""
    checks = {"database": database_check(engine), "broker": broker_check(bootstrap_servers)}
    body: dict = {"checks": checks}
    if checks["database"] == "ok":
        try:
            with engine.connect() as conn:
                count, age = backlog(conn, outbox)
            body["outbox"] = {"backlog_events": count, "oldest_age_seconds": round(age, 3)}
        except Exception as exc:  # noqa: BLE001 - the database just answered; report, do not fail
            body["outbox"] = {"error": type(exc).__name__}
    ok = checks["database"] == "ok"
    degraded = [name for name, state in checks.items() if state != "ok" and name != "database"]
    body["status"] = ("degraded" if degraded else "ready") if ok else "not ready"
    if degraded:
        body["degraded"] = {name: "events wait in the outbox until the broker is back" for name in degraded}
    return Verdict(ok, {"status": body.pop("status"), **body})


def outbox_gauges(engine: Engine, outbox: sa.Table, service: str):
    """Scrape-time gauges of a service's outbox: events waiting and the age of the oldest."""

    def collect():
        with engine.connect() as conn:
            count, age = backlog(conn, outbox)
        labels = {"service": service}
        return [
            (metrics.OUTBOX_BACKLOG, metrics.HELP[metrics.OUTBOX_BACKLOG], labels, count),
            (metrics.OUTBOX_OLDEST_AGE, metrics.HELP[metrics.OUTBOX_OLDEST_AGE], labels, age),
        ]

    return collect


def broker_gauge(bootstrap_servers: str, service: str):
    """Scrape-time gauge: 1 while a bootstrap broker accepts connections from this pod."""

    def collect():
        up = 1.0 if broker_check(bootstrap_servers) == "ok" else 0.0
        return [(metrics.BROKER_UP, metrics.HELP[metrics.BROKER_UP], {"service": service}, up)]

    return collect
