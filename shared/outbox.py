"""Transactional outbox: events are rows written with the business change, published later.

`Outbox.add` runs inside the caller's transaction. `OutboxRelay` (its own process) reads
unpublished rows in id order, sends them, waits for the broker's acks, and only then marks
them published: at least once, in order per key. It never holds a transaction while sending.
A poll starts after what was published a few seconds ago (see `OutboxRelay`); an event whose
transaction held its row uncommitted longer than that is published by the next poll from the
start, within seconds, and may then follow later events of its key.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from shared import faults, metrics, tracing
from shared.clock import utcnow
from shared.contracts import Contract, envelope_to_dict, new_event
from shared.db import safe_error
from shared.logs import current_trace_id

log = logging.getLogger(__name__)


class Outbox:
    """Writes events into the outbox table on the unit of work's connection."""

    def __init__(self, conn: Connection, table: sa.Table, source: str):
        self._conn = conn
        self._table = table
        self._source = source

    def add(self, contract: Contract, data: dict) -> str:
        row = self.row(contract, data)
        self.insert(row)
        return row["event_id"]

    def row(self, contract: Contract, data: dict) -> dict:
        """The outbox row of an event (validated against its contract), for `insert` or for a
        statement that writes it together with the business change."""
        envelope, key = new_event(contract, source=self._source, data=data)
        return {
            "event_id": envelope.event_id,
            "topic": contract.topic,
            "message_key": key,
            "payload": json.dumps(envelope_to_dict(envelope), separators=(",", ":")),
            "trace_id": current_trace_id(),
            **tracing.carried(),  # the span that wrote it: the message continues its trace
            "created_at": envelope.occurred_at,
            "published_at": None,
        }

    def insert(self, row: dict) -> None:
        self._conn.execute(_insert(self._table), row)


@cache
def _insert(table: sa.Table):
    """The outbox insert, built once per table (no RETURNING of the generated id)."""
    return table.insert().inline()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    topic: str
    key: str
    payload: str
    trace_id: str | None
    traceparent: str | None = None
    tracestate: str | None = None


_ROW_COLUMNS = ("id", "event_id", "topic", "message_key", "payload", "trace_id", "traceparent", "tracestate")


def message_headers(
    event_id: str, event_type: str, trace_id: str | None, traceparent: str | None = None, tracestate: str | None = None
) -> list[tuple[str, bytes]]:
    """event_id and type; the W3C trace context of the span that wrote the event; trace_id, its trace
    id alone, for consumers that predate traceparent (shared.event_docs describes them)."""
    headers = [("event_id", event_id.encode()), ("type", event_type.encode())]
    for name, value in (("traceparent", traceparent), ("tracestate", tracestate), ("trace_id", trace_id)):
        if value:
            headers.append((name, value.encode()))
    return headers


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: Engine,
        table: sa.Table,
        producer,
        topic_name,
        service: str,
        batch_size: int = 500,
        idle_wait_s: float = 0.1,
        linger_s: float = 0.005,
        send_timeout_s: float = 20.0,
        lookback_s: float = 5.0,
        full_scan_s: float = 10.0,
        health=None,
    ):
        self.engine = engine
        self.table = table
        self.producer = producer
        self.topic_name = topic_name
        self.service = service
        self.batch_size = batch_size
        self.idle_wait_s = idle_wait_s  # the longest pause between polls of an idle outbox
        self.linger_s = linger_s  # the pause after a partial batch: lets the next one fill
        self.send_timeout_s = send_timeout_s
        # Where a poll starts. Published rows stay in the unpublished-rows index as dead entries
        # until VACUUM (at 800 events/s, tens of thousands between two autovacuum visits), and a
        # poll from the start steps over every one: milliseconds a poll. So a poll starts after
        # the highest id published `lookback_s` ago; a row that becomes visible later than that
        # below it (a transaction that held its id that long; `outbox republish`) is found by a
        # poll from the start, made every `full_scan_s`.
        self.lookback_s = lookback_s
        self.full_scan_s = full_scan_s
        self._published_up_to: deque[tuple[float, int]] = deque()  # (when, highest id marked then)
        self._floor = 0
        self._full_scan_due = 0.0
        t = table  # the relay's statements, built once (it runs them many times a second)
        self._unpublished = (
            sa.select(*(t.c[name] for name in _ROW_COLUMNS))
            .where(t.c.published_at.is_(None), t.c.id > sa.bindparam("p_floor"))
            .order_by(t.c.id)
            .limit(batch_size)
        )
        self._mark = (
            t.update()
            .where(t.c.id.in_(sa.bindparam("p_ids", expanding=True)))
            .values(published_at=sa.bindparam("p_now"))
        )
        # On PostgreSQL the ids go as one array: one statement text whatever their count (an IN list
        # is a new statement for each length: compiled, converted and prepared again by the driver).
        quoted = postgresql.dialect().identifier_preparer.quote(t.name)
        self._mark_pg = sa.text(f"UPDATE {quoted} SET published_at = :p_now WHERE id = ANY(CAST(:p_ids AS BIGINT[]))")
        self._conn: Connection | None = None
        self.health = health  # a shared.health.ProcessHealth, or None

    def _report(self, check: str, ok: bool, detail: str = "failing") -> None:
        if self.health is not None:
            self.health.report(check, ok, detail)

    def fetch_batch(self) -> list[OutboxRow]:
        now = time.monotonic()
        while self._published_up_to and self._published_up_to[0][0] <= now - self.lookback_s:
            self._floor = max(self._floor, self._published_up_to.popleft()[1])
        full_scan = now >= self._full_scan_due
        with self._one_statement() as conn:
            rows = conn.execute(self._unpublished, {"p_floor": 0 if full_scan else self._floor}).all()
        if full_scan:  # rows found below the floor: the next poll starts from the beginning too
            self._full_scan_due = now if rows and rows[0].id <= self._floor else now + self.full_scan_s
        return [OutboxRow(*row) for row in rows]

    @contextmanager
    def _one_statement(self) -> Iterator[Connection]:
        """A connection for a single statement: on PostgreSQL the relay's own, kept open, outside
        any transaction (one statement is atomic by itself: one round trip instead of BEGIN,
        statement, COMMIT, and no checkout per statement); after an error it is dropped and the
        next statement opens a fresh one. Elsewhere a transaction of its own."""
        if self.engine.dialect.name != "postgresql":
            with self.engine.begin() as conn:
                yield conn
            return
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield self._conn
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give back the relay's connection (it opens another when it runs again)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def publish(self, rows: list[OutboxRow]) -> int:
        """Send rows, then mark the longest acknowledged prefix as published; returns how many."""
        futures = []
        for row in rows:
            event_type = row.topic.rsplit(".v", 1)[0]
            futures.append(
                self.producer.send(
                    self.topic_name(row.topic),
                    key=row.key.encode(),
                    value=row.payload.encode(),
                    headers=message_headers(row.event_id, event_type, row.trace_id, row.traceparent, row.tracestate),
                )
            )
        self.producer.flush(timeout=self.send_timeout_s)
        acked: list[int] = []
        for row, future in zip(rows, futures, strict=True):
            try:
                future.get(timeout=0)
            except Exception as exc:  # noqa: BLE001 - anything unacked stops the prefix
                log.warning(
                    "outbox publish failed; will retry", extra={"event_id": row.event_id, "error": safe_error(exc)}
                )
                break
            acked.append(row.id)
        faults.point("relay.after_ack")
        if acked:
            self.mark_published(acked)
            metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(acked))
        self._report("broker", len(acked) == len(rows), "sends not acknowledged")
        if len(acked) < len(rows):
            metrics.OUTBOX_RETRIES.labels(self.service).inc()
            if hasattr(self.producer, "rebuild"):
                self.producer.rebuild()
        return len(acked)

    def mark_published(self, ids: list[int]) -> None:
        from shared.db import array_literal, retry_transient

        def _mark():
            with self._one_statement() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(self._mark_pg, {"p_ids": array_literal(ids), "p_now": utcnow()})
                else:
                    conn.execute(self._mark, {"p_ids": ids, "p_now": utcnow()})

        retry_transient(_mark, attempts=20, max_delay=5.0)
        self._published_up_to.append((time.monotonic(), max(ids)))

    def run(self, stop: threading.Event) -> None:
        backoff = 0.1
        # After a partial batch, poll again in linger_s (events come in streams: each query,
        # flush and mark is shared by what arrived meanwhile); with nothing found, back off
        # to idle_wait_s: few queries when nothing happens; a full batch, at once.
        pause = self.linger_s
        while not stop.is_set():
            if self.health is not None:
                self.health.beat()
            try:
                rows = self.fetch_batch()
                self._report("loop", True)
                if not rows:
                    stop.wait(pause)
                    pause = min(max(pause, 0.001) * 2, self.idle_wait_s)
                    continue
                pause = self.linger_s
                sent = self.publish(rows)
                if sent < len(rows):
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                backoff = 0.1
                if len(rows) < self.batch_size:
                    stop.wait(self.linger_s)
            except Exception as exc:  # noqa: BLE001 - the relay must outlive broker and database outages
                log.exception("outbox relay iteration failed")
                metrics.RELAY_ERRORS.labels(self.service).inc()
                self._report("loop", False, f"failing: {type(exc).__name__}")
                if hasattr(self.producer, "rebuild"):
                    self.producer.rebuild()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)


def republish_since(engine: Engine, table: sa.Table, since: datetime) -> int:
    """Mark every event created at or after `since` for publishing again (consumers dedupe)."""
    with engine.begin() as conn:
        return conn.execute(table.update().where(table.c.created_at >= since).values(published_at=None)).rowcount


def backlog(conn: Connection, table: sa.Table) -> tuple[int, float]:
    """Unpublished events and the age in seconds of the oldest."""
    count, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(table.c.published_at.is_(None))
    ).one()
    age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0  # UTCDateTime: aware
    return int(count), age
