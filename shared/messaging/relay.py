"""The outbox relay (a process of its own): reads unpublished outbox rows in id order, sends them,
waits for the broker's acks, and only then marks them published: at least once, in order per
key. It never holds a transaction while sending.

On PostgreSQL it waits on the outbox's NOTIFY (a trigger, sent at commit: shared.db.infra_migrations),
so an event leaves within milliseconds of its commit; polling stays as the safety net (every
`listen_idle_s`), and is all there is on SQLite. Commits notify only while the relay waits for one
(a NOTIFY serialises commits on the server's notify lock): busy, it fetches again by itself. While
`outbox_cdc` has a row, Debezium publishes the outbox (coinsctl.cdc) and the relay fetches nothing;
it holds an advisory lock while it may publish (shared.messaging.relay_wakeup), which the switch to
CDC waits for. The relay reads `outbox_cdc` again when the switch notifies, else every
`cdc_recheck_s`: standing aside, it does not wait for commits, and they do not notify.

A poll starts after what was published a few seconds ago (`PollFloor`); an event whose
transaction held its row uncommitted longer than that is published by the next poll from the
start, within seconds, and may then follow later events of its key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from shared import faults
from shared.clock import utcnow
from shared.db.engines import retry_transient, safe_error
from shared.db.pg_arrays import array_literal
from shared.messaging.relay_wakeup import Wakeup, wakeup_for
from shared.observability import metrics, tracing, volume

log = logging.getLogger(__name__)


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
    id alone, for consumers that predate traceparent (coinsctl.event_docs describes them)."""
    headers = [("event_id", event_id.encode()), ("type", event_type.encode())]
    for name, value in (("traceparent", traceparent), ("tracestate", tracestate), ("trace_id", trace_id)):
        if value:
            headers.append((name, value.encode()))
    return headers


def _send_span(row: OutboxRow, topic: str) -> tracing.Span:
    """The span of one event's send (PRODUCER), a child of the span that wrote its row."""
    return tracing.continued(
        row.traceparent,
        row.tracestate,
        trace_id=row.trace_id,
        name=f"send {topic}",
        kind=tracing.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": row.event_id,
            "messaging.kafka.message.key": row.key,
        },
    )


@dataclass(frozen=True)
class _Statements:
    """The relay's statements, built once (it runs them many times a second)."""

    unpublished: sa.Select
    cdc_on: sa.Select
    mark: sa.Update
    # On PostgreSQL the ids go as one array: one statement text whatever their count (an IN list
    # is a new statement for each length: compiled, converted and prepared again by the driver).
    mark_pg: sa.TextClause

    @classmethod
    def of(cls, t: sa.Table, batch_size: int, *, cdc_possible: bool) -> _Statements:
        quoted = postgresql.dialect().identifier_preparer.quote(t.name)
        cdc = sa.table("outbox_cdc", sa.column("slot"))
        # Nothing while CDC publishes (PostgreSQL only): checked in the fetch itself, so that no
        # batch is read after the switch's row has committed.
        guard = [~sa.exists().select_from(cdc)] if cdc_possible else []
        return cls(
            unpublished=sa.select(*(t.c[name] for name in _ROW_COLUMNS))
            .where(t.c.published_at.is_(None), t.c.id > sa.bindparam("p_floor"), *guard)
            .order_by(t.c.id)
            .limit(batch_size),
            cdc_on=sa.select(sa.exists().select_from(cdc)),
            # SQLite reuses the ids of rows pruned from an empty table: a row is marked only if it
            # is still the event that was sent (another relay's late mark must not hit a new row).
            mark=t.update()
            .where(
                t.c.id.in_(sa.bindparam("p_ids", expanding=True)),
                t.c.event_id.in_(sa.bindparam("p_events", expanding=True)),
            )
            .values(published_at=sa.bindparam("p_now")),
            mark_pg=sa.text(f"UPDATE {quoted} SET published_at = :p_now WHERE id = ANY(CAST(:p_ids AS BIGINT[]))"),
        )


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
        listen_idle_s: float = 1.0,
        cdc_recheck_s: float = 5.0,
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
        self.health = health  # a shared.runtime.health.ProcessHealth, or None
        # The floor steps over PostgreSQL's dead index entries. SQLite leaves none, and reuses the
        # ids of rows pruned from an empty table, which a floor would pass over (and publish a
        # key's later events first): there every poll starts from the beginning (full_scan_s 0).
        on_postgresql = engine is not None and engine.dialect.name == "postgresql"
        self._floor = PollFloor(lookback_s, full_scan_s if on_postgresql else 0.0)
        self._sql = _Statements.of(
            table, batch_size, cdc_possible=engine is not None and engine.dialect.name == "postgresql"
        )
        self._conn: Connection | None = None
        # On PostgreSQL: LISTEN, and the relay's advisory lock; elsewhere polling alone.
        self._wakeup: Wakeup | None = wakeup_for(engine, table.name)
        self.listen_idle_s = listen_idle_s  # the safety-net poll when notifications wake the relay
        # outbox_cdc as last read. Only a cache: the fetch checks the table itself, so a stale
        # "off" sends nothing after a switch, and a stale "on" only delays until the next read.
        self.cdc_recheck_s = cdc_recheck_s
        self._cdc_on = False
        self._cdc_read_at: float | None = None
        self._refused_waits = 0  # start_waiting refused in a row (a writer in a long transaction)

    def _report(self, check: str, ok: bool, detail: str = "failing") -> None:
        if self.health is not None:
            self.health.report(check, ok, detail)

    def fetch_batch(self) -> list[OutboxRow]:
        now = time.monotonic()
        floor = self._floor.for_poll(now)
        with self._one_statement() as conn:
            rows = conn.execute(self._sql.unpublished, {"p_floor": floor}).all()
        self._floor.found(now, rows[0].id if rows else None)
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
        """Give back the relay's connections (it opens others when it runs again)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
        if self._wakeup is not None:
            self._wakeup.close()

    def cdc_publishes(self) -> bool:
        """Whether Debezium publishes this outbox (a row in outbox_cdc)."""
        with self._one_statement() as conn:
            return bool(conn.execute(self._sql.cdc_on).scalar())

    def _may_publish(self) -> bool:
        """On PostgreSQL, only while holding the relay's advisory lock: one relay publishes at a
        time, and the switch to CDC knows when none is mid-batch (coinsctl.cdc)."""
        return self._wakeup is None or self._wakeup.hold()

    def _stands_aside(self) -> bool:
        """Whether CDC publishes this outbox, as last read (read again when the switch notified, or
        after cdc_recheck_s); if so, the relay lets its lock go (the switch to CDC waits for it)."""
        if self._wakeup is None:  # no CDC off PostgreSQL
            return False
        self._wakeup.listen()  # first: a switch's notification is heard from before the read
        now = time.monotonic()
        stale = self._cdc_read_at is None or now - self._cdc_read_at >= self.cdc_recheck_s
        if self._wakeup.take_switched() or stale:
            self._cdc_on, self._cdc_read_at = self.cdc_publishes(), now
        if self._cdc_on:
            self._wakeup.release()
        return self._cdc_on

    def _idle(self, stop: threading.Event, pause: float) -> float:
        """Nothing to publish: wait for the next poll. Up to `pause`; or, on PostgreSQL, for the
        outbox's NOTIFY up to listen_idle_s. Commits notify only while the relay says it waits
        (shared.messaging.relay_wakeup), so it says so first and returns to fetch once more: what
        committed before did not notify. Returns the next pause."""
        wakeup = self._wakeup
        if wakeup is not None and wakeup.held and not wakeup.waiting:
            # Waits (up to linger_s) for writers between their insert and their commit, then
            # fetches again. Refused twice running, a writer sits in its transaction: poll, backing
            # off, rather than queue for the lock (writers notify while the relay is queued).
            if wakeup.start_waiting(timeout_ms=max(1, round(self.linger_s * 1000))):
                self._refused_waits = 0
            else:
                self._refused_waits += 1
                if self._refused_waits > 1:
                    stop.wait(pause)
                    return self._longer(pause)
            return pause
        if wakeup is not None and wakeup.wait(self.listen_idle_s, stop):
            return self.linger_s  # it stops waiting once it has published: first, the fetch
        if wakeup is not None:
            wakeup.stop_waiting()
        if wakeup is None or not wakeup.listening:
            stop.wait(pause)
        return self._longer(pause)

    def _longer(self, pause: float) -> float:
        """The next pause of an idle relay: doubled, up to idle_wait_s."""
        return min(max(pause, 0.001) * 2, self.idle_wait_s)

    def publish(self, rows: list[OutboxRow]) -> int:
        """Send rows, then mark the longest acknowledged prefix as published; returns how many.
        Each send is a PRODUCER span in the trace of the span that wrote the row; the message
        carries that span's traceparent, as the row stores it (consumers are its children too)."""
        futures, spans = [], []
        try:
            for row in rows:
                event_type = row.topic.rsplit(".v", 1)[0]
                topic = self.topic_name(row.topic)
                spans.append(_send_span(row, topic))
                futures.append(
                    self.producer.send(
                        topic,
                        key=row.key.encode(),
                        value=row.payload.encode(),
                        headers=message_headers(
                            row.event_id, event_type, row.trace_id, row.traceparent, row.tracestate
                        ),
                    )
                )
            self.producer.flush(timeout=self.send_timeout_s)
            acked = self._acknowledged(rows, futures, spans)
        finally:
            for span in spans:
                span.end()
        if acked:
            faults.point("relay.after_ack")  # only once the broker has acknowledged something
            self.mark_published(acked)
            metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(acked))
            self._count_volume(acked)
        self._report("broker", len(acked) == len(rows), "sends not acknowledged")
        if len(acked) < len(rows):
            metrics.OUTBOX_RETRIES.labels(self.service).inc()
            if hasattr(self.producer, "rebuild"):
                self.producer.rebuild()
        return len(acked)

    @staticmethod
    def _acknowledged(rows: list[OutboxRow], futures: list, spans: list[tracing.Span]) -> list[OutboxRow]:
        """The longest prefix of `rows` the broker acknowledged; each send's span says how it went."""
        acked: list[OutboxRow] = []
        for row, future, span in zip(rows, futures, spans, strict=True):
            try:
                sent = future.get(timeout=0)
            except Exception as exc:  # noqa: BLE001 - anything unacked stops the prefix
                log.warning(
                    "outbox publish failed; will retry", extra={"event_id": row.event_id, "error": safe_error(exc)}
                )
                for unsent in spans[len(acked) :]:
                    unsent.fail("not acknowledged", error_type=type(exc).__name__)
                break
            if hasattr(sent, "partition"):  # kafka-python's RecordMetadata
                span.set(
                    messaging__destination__partition__id=str(sent.partition), messaging__kafka__offset=sent.offset
                )
            acked.append(row)
        return acked

    def _count_volume(self, rows: list[OutboxRow]) -> None:
        """The money-flow counters (shared.observability.volume): never a reason for a published batch to fail."""
        try:
            volume.count_many(self.service, ((row.topic, row.payload) for row in rows))
        except Exception as exc:  # noqa: BLE001 - metrics only; the rows are published and marked
            log.warning("money-flow counters not updated", extra={"error": safe_error(exc)})

    def mark_published(self, rows: list[OutboxRow]) -> None:
        ids = [row.id for row in rows]

        def _mark():
            with self._one_statement() as conn:
                if conn.dialect.name == "postgresql":  # BIGSERIAL: an id is never given twice
                    conn.execute(self._sql.mark_pg, {"p_ids": array_literal(ids), "p_now": utcnow()})
                else:
                    events = [row.event_id for row in rows]
                    conn.execute(self._sql.mark, {"p_ids": ids, "p_events": events, "p_now": utcnow()})

        retry_transient(_mark, attempts=20, max_delay=5.0)
        self._floor.published(max(ids))

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
                rows = self.fetch_batch() if not self._stands_aside() and self._may_publish() else []
                self._report("loop", True)
                if not rows:
                    pause = self._idle(stop, pause)
                    continue
                pause, self._refused_waits = self.linger_s, 0
                try:
                    sent = self.publish(rows)
                finally:
                    if self._wakeup is not None:
                        self._wakeup.stop_waiting()  # busy: it fetches again by itself
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


# -- where a poll starts --------------------------------------------------------------------------
class PollFloor:
    """Where a relay's poll starts. Published rows stay in the unpublished-rows index as dead
    entries until VACUUM (at 800 events/s, tens of thousands between two autovacuum visits), and
    a poll from the start steps over every one: milliseconds a poll. So a poll starts after the
    highest id published `lookback_s` ago; a row that becomes visible later than that below it (a
    transaction that held its id that long; `outbox republish`) is found by a poll from the
    start, made every `full_scan_s`."""

    def __init__(self, lookback_s: float, full_scan_s: float):
        self.lookback_s = lookback_s
        self.full_scan_s = full_scan_s
        self._published_up_to: deque[tuple[float, int]] = deque()  # (when, highest id marked then)
        self._floor = 0
        self._full_scan_due = 0.0
        self._scanning = False

    def for_poll(self, now: float) -> int:
        """The id this poll starts after: the floor, or 0 where a full scan is due."""
        while self._published_up_to and self._published_up_to[0][0] <= now - self.lookback_s:
            self._floor = max(self._floor, self._published_up_to.popleft()[1])
        self._scanning = now >= self._full_scan_due
        return 0 if self._scanning else self._floor

    def found(self, now: float, first_id: int | None) -> None:
        """The poll's first row: a full scan that found rows below the floor is made again at once."""
        if self._scanning:
            below = first_id is not None and first_id <= self._floor
            self._full_scan_due = now if below else now + self.full_scan_s

    def published(self, highest_id: int) -> None:
        self._published_up_to.append((time.monotonic(), highest_id))
