"""Idempotent consumer: each event applied once, in the same transaction as its inbox row.

A poll's records are applied in one database transaction. Where a topic's handler can apply
events set-wise (`Apply.many`), the batch goes through in a few statements: one insert of the
inbox rows (the duplicates fall out), one call with the fresh events. If that fails for any
reason but a transient one, the batch is rolled back and applied again one message at a time,
each inside a savepoint, so one bad message cannot spoil the batch. Offsets are committed only after the database
commit (at most every `commit_interval_s`, and whenever a poll finds nothing: what a crash makes it re-read,
the inbox dedupes). Transient failures (database down, lock timeouts) rewind and retry with backoff,
forever, dead-lettering nothing. A message that can never apply (malformed, breaks a rule,
or keeps failing) goes to `<topic>.dlq` with the reason in its headers; the partition moves on.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Protocol

import sqlalchemy as sa
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from marshmallow import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared import faults, metrics
from shared.clock import utcnow
from shared.contracts import Envelope, parse_envelope
from shared.db import insert_ignore, insert_ignore_many, is_transient, safe_error
from shared.errors import DomainError, PermanentMessageError
from shared.logs import new_trace_id, reset_trace_id, set_trace_id

log = logging.getLogger(__name__)

PERMANENT_ERRORS = (PermanentMessageError, ValidationError, DomainError, IntegrityError)


class Handler(Protocol):
    def __call__(self, conn: Connection, envelope: Envelope, data: dict) -> None: ...


@dataclass(frozen=True)
class Apply:
    """A topic's handler: `one` applies one event; `many`, if given, applies a list of
    (envelope, data) set-wise with the same effect as `one` on each, in order."""
    one: Handler
    many: Callable[[Connection, list[tuple[Envelope, dict]]], None] | None = None

    def __call__(self, conn: Connection, envelope: Envelope, data: dict) -> None:
        self.one(conn, envelope, data)


@dataclass
class Parsed:
    record: object
    envelope: Envelope
    data: dict


@dataclass
class Poisoned:
    record: object
    reason: str
    error: str


@dataclass
class BatchOutcome:
    counts: Counter = field(default_factory=Counter)  # (topic, "applied" | "duplicate") -> n
    poisoned: list[Poisoned] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome == "applied")


class _RetryBatch(Exception):
    """An unexpected error that may pass: roll the whole batch back and try again."""


def _header(record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode(errors="replace") if value is not None else None
    return None


class InboxConsumer:
    def __init__(self, *, engine: Engine, inbox: sa.Table, consumer, producer, handlers: dict[str, Handler],
                 group: str, service: str, topic_name: Callable[[str], str], max_attempts: int = 5,
                 max_backoff_s: float = 10.0, watchdog_s: float = 0, batch_size: int = 1000,
                 linger_s: float = 0.0, commit_interval_s: float = 0.0, health=None):
        self.engine = engine
        self.inbox = inbox
        self.consumer = consumer
        self.producer = producer
        self.group = group
        self.service = service
        self.topic_name = topic_name
        # handlers are keyed by the full (possibly prefixed) topic name
        self.handlers = {topic_name(topic): handler for topic, handler in handlers.items()}
        self.base_topic = {topic_name(topic): topic for topic in handlers}
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        self.watchdog_s = watchdog_s
        self.batch_size = batch_size
        self.linger_s = linger_s  # once records arrive, how long more may join the batch
        self.commit_interval_s = commit_interval_s
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}  # applied, offset not yet committed
        self._last_commit = time.monotonic()
        # Seeks newly assigned partitions to their committed offsets; called before every poll.
        self._resume = getattr(consumer, "resume_from_committed", None)
        self._last_progress = time.monotonic()
        self._attempts: dict[tuple[str, int, int], int] = {}
        self.set_wise_batches = 0  # batches that took the fast path (for tests and benchmarks)
        self.health = health  # a shared.health.ProcessHealth, or None

    # -- one batch ---------------------------------------------------------------------------
    def apply_batch(self, records: list) -> BatchOutcome:
        parsed, malformed = self._parse(records)
        if parsed and all(getattr(self.handlers[p.record.topic], "many", None) for p in parsed):
            try:
                outcome = self._apply_set(parsed)
                outcome.poisoned.extend(malformed)
                self.set_wise_batches += 1
                return outcome
            except Exception as exc:  # noqa: BLE001 - transient: retried as a whole; else: one by one
                if is_transient(exc):
                    raise
                log.info("batch refused set-wise; applying it one message at a time",
                         extra={"error": _describe(exc)[:300]})
        outcome = BatchOutcome(poisoned=malformed)
        with self.engine.begin() as conn:
            for item in parsed:
                self._apply_one(conn, item, outcome)
                faults.point("consumer.mid_batch")
        return outcome

    def _parse(self, records: list) -> tuple[list[Parsed], list[Poisoned]]:
        parsed, malformed = [], []
        for record in records:
            try:
                raw = json.loads(record.value)
                if not isinstance(raw, dict):
                    raise PermanentMessageError("message value is not a JSON object")
                envelope, data = parse_envelope(raw)
            except (ValueError, TypeError, ValidationError, PermanentMessageError) as exc:
                malformed.append(Poisoned(record, "malformed", _describe(exc)))
                continue
            parsed.append(Parsed(record, envelope, data))
        return parsed, malformed

    def _apply_set(self, parsed: list[Parsed]) -> BatchOutcome:
        outcome = BatchOutcome()
        with self.engine.begin() as conn:
            now = utcnow()
            fresh_ids = insert_ignore_many(conn, self.inbox, [{
                "consumer": self.group, "event_id": p.envelope.event_id, "topic": self.base_topic[p.record.topic],
                "partition": p.record.partition, "offset": p.record.offset, "processed_at": now} for p in parsed],
                ["consumer", "event_id"], returning="event_id")
            fresh: dict[str, list[Parsed]] = {}
            for p in parsed:
                if p.envelope.event_id in fresh_ids:
                    fresh_ids.discard(p.envelope.event_id)  # an event repeated within the batch counts once
                    faults.point("consumer.handle", key=(p.record.key or b"").decode(errors="replace"))
                    fresh.setdefault(p.record.topic, []).append(p)
                    outcome.counts[(p.envelope.topic, "applied")] += 1
                else:
                    outcome.counts[(p.envelope.topic, "duplicate")] += 1
            for topic, items in fresh.items():
                self.handlers[topic].many(conn, [(p.envelope, p.data) for p in items])
            faults.point("consumer.mid_batch")
        for items in fresh.values() if log.isEnabledFor(logging.INFO) else ():
            for p in items:
                token = set_trace_id(_header(p.record, "trace_id") or new_trace_id())
                log.info("event applied", extra={"event_id": p.envelope.event_id, "topic": p.envelope.topic})
                reset_trace_id(token)
        return outcome

    def _apply_one(self, conn: Connection, item: Parsed, outcome: BatchOutcome) -> None:
        record, envelope, data = item.record, item.envelope, item.data
        token = set_trace_id(_header(record, "trace_id") or new_trace_id())
        try:
            savepoint = conn.begin_nested()
            try:
                fresh = insert_ignore(conn, self.inbox, {
                    "consumer": self.group, "event_id": envelope.event_id, "topic": self.base_topic[record.topic],
                    "partition": record.partition, "offset": record.offset, "processed_at": utcnow()},
                    ["consumer", "event_id"])
                if fresh:
                    faults.point("consumer.handle", key=(record.key or b"").decode(errors="replace"))
                    self.handlers[record.topic](conn, envelope, data)
                savepoint.commit()
            except PERMANENT_ERRORS as exc:
                savepoint.rollback()
                if isinstance(exc, IntegrityError) and is_transient(exc):
                    raise
                log.warning("event refused", extra={"event_id": envelope.event_id, "error": _describe(exc)})
                outcome.poisoned.append(Poisoned(record, "rejected", _describe(exc)))
                return
            except Exception as exc:
                if is_transient(exc):
                    raise
                key = (record.topic, record.partition, record.offset)
                self._attempts[key] = self._attempts.get(key, 0) + 1
                if self._attempts[key] >= self.max_attempts:
                    savepoint.rollback()
                    log.error("event failed repeatedly", extra={"event_id": envelope.event_id})
                    outcome.poisoned.append(Poisoned(record, "failed", _describe(exc, trace=True)))
                    return
                raise _RetryBatch(str(exc)) from exc
            outcome.counts[(envelope.topic, "applied" if fresh else "duplicate")] += 1
            if fresh:
                log.info("event applied", extra={"event_id": envelope.event_id, "topic": envelope.topic})
        finally:
            reset_trace_id(token)

    # -- dead letters and offsets -----------------------------------------------------------------
    def dead_letter(self, poisoned: list[Poisoned]) -> None:
        futures = []
        for item in poisoned:
            record = item.record
            headers = list(record.headers or ()) + [
                ("dlq.reason", item.reason.encode()), ("dlq.error", item.error.encode()[:4000]),
                ("dlq.topic", record.topic.encode()), ("dlq.partition", str(record.partition).encode()),
                ("dlq.offset", str(record.offset).encode()), ("dlq.consumer", self.group.encode()),
                ("dlq.failed_at", utcnow().isoformat().encode())]
            futures.append(self.producer.send(f"{record.topic}.dlq", key=record.key, value=record.value,
                                              headers=headers))
        try:
            self.producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=0)  # raises if the broker did not take it: the batch is retried
        except Exception:
            if hasattr(self.producer, "rebuild"):
                self.producer.rebuild()
            raise

    def commit(self, records: list, *, force: bool = False) -> None:
        """Record the offsets after `records` (applied and committed to the database) and commit
        them, with any left from earlier batches, once the interval has passed (or `force`)."""
        for record in records:
            self._uncommitted[TopicPartition(record.topic, record.partition)] = \
                OffsetAndMetadata(record.offset + 1, "", -1)
        if self._uncommitted and (force or time.monotonic() - self._last_commit >= self.commit_interval_s):
            self.commit_pending()

    def commit_pending(self) -> None:
        offsets, self._uncommitted = self._uncommitted, {}
        self._last_commit = time.monotonic()
        assignment = getattr(self.consumer, "assignment", None)
        if offsets and assignment is not None:
            mine = assignment()  # a partition a rebalance gave away is its new owner's to commit
            offsets = {tp: offset for tp, offset in offsets.items() if tp in mine}
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partition away; its new owner re-reads and the inbox dedupes.
            log.warning("offset commit failed; records will be redelivered", extra={"error": str(exc)})

    def rewind(self, records: list) -> None:
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = self.consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)

    # -- the loop -------------------------------------------------------------------------------------
    def handle(self, records: list) -> BatchOutcome:
        outcome = self.apply_batch(records)
        faults.point("consumer.after_db_commit")
        if outcome.poisoned:
            self.dead_letter(outcome.poisoned)
        self.commit(records, force=bool(outcome.poisoned))  # a dead letter is sent once: its offset at once
        for item in outcome.poisoned:
            self._attempts.pop((item.record.topic, item.record.partition, item.record.offset), None)
        self._count(outcome)
        return outcome

    def _count(self, outcome: BatchOutcome) -> None:
        for (topic, result), n in outcome.counts.items():
            metrics.CONSUMED.labels(self.service, topic, result).inc(n)
        for item in outcome.poisoned:
            topic = self.base_topic.get(item.record.topic, "")
            metrics.CONSUMED.labels(self.service, topic, "dead_lettered").inc()
            metrics.DEAD_LETTERS.labels(self.service, topic, item.reason).inc()

    def _report(self, check: str, ok: bool, detail: str = "failing") -> None:
        if self.health is not None:
            self.health.report(check, ok, detail)

    def _watchdog(self, stop: threading.Event) -> None:
        """Exit if poll() stops returning, so the supervisor (make run, Kubernetes) starts a fresh
        member. For Tansu, whose group can stick for good after a leave mid-rebalance; on Apache
        Kafka a last resort (a poll may block while the broker is away, so keep it above the
        longest outage worth riding out)."""
        while not stop.wait(5):
            stalled = time.monotonic() - self._last_progress
            if stalled > self.watchdog_s:
                log.error("consumer stalled; exiting so that it is restarted", extra={"stalled_s": round(stalled)})
                logging.shutdown()
                os._exit(70)

    def _gather(self) -> list:
        """One batch: wait up to 500 ms for records, then let more join for linger_s (or until
        batch_size): under load a batch's fixed costs (transaction, offset commit) are shared by
        many events; on a quiet topic it costs at most linger_s of latency. Records of one
        partition stay in offset order."""
        polled = self.consumer.poll(timeout_ms=500, max_records=self.batch_size)
        records = [r for batch in polled.values() for r in batch]
        if not records or not self.linger_s:
            return records
        deadline = time.monotonic() + self.linger_s
        while len(records) < self.batch_size:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            if self._resume is not None:  # a rebalance inside the last poll: start its partitions right first
                self._resume()
            polled = self.consumer.poll(timeout_ms=left_ms, max_records=self.batch_size - len(records))
            records.extend(r for batch in polled.values() for r in batch)
        return records

    def run(self, stop: threading.Event) -> None:
        self._last_progress = time.monotonic()
        if self.watchdog_s:
            threading.Thread(target=self._watchdog, args=(stop,), daemon=True, name="watchdog").start()
        backoff = 0.1
        while not stop.is_set():
            try:
                if self._resume is not None:
                    self._resume()
                records = self._gather()
                self._last_progress = time.monotonic()
                if self.health is not None:
                    self.health.beat()
            except KafkaError as exc:  # the broker is away: wait for it, never exit
                self._report("poll", False, f"failing: {type(exc).__name__}")
                log.warning("poll failed; retrying", extra={"error": safe_error(exc)[:300], "backoff_s": backoff})
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            self._report("poll", True)
            if not records:
                self.commit_pending()  # a quiet moment: leave nothing applied to be re-read
                continue
            try:
                self.handle(records)
                self._report("batch", True)
                backoff = 0.1
            except Exception as exc:  # noqa: BLE001 - rewind, wait, retry; never skip
                level = logging.WARNING if is_transient(exc) or isinstance(exc, (_RetryBatch, KafkaError)) \
                    else logging.ERROR
                log.log(level, "batch not applied; retrying", extra={"error": _describe(exc)[:500],
                                                                      "backoff_s": backoff})
                metrics.CONSUMER_RETRIES.labels(self.service).inc()
                self._report("batch", False, f"retrying: {type(exc).__name__}")
                self.rewind(records)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        self.commit_pending()  # stopping: what was applied is not re-read by the next member


def _describe(exc: BaseException, trace: bool = False) -> str:
    """For logs and dead-letter headers: never a row's values (see `safe_error`)."""
    text = safe_error(exc)
    if isinstance(exc, ValidationError):
        text = f"ValidationError: {json.dumps(exc.messages, default=str)}"
    if trace:  # where it failed, not the message again
        text += "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
    return text
