"""The idempotent inbox: each event applied once, in the same transaction as its inbox row.

A poll's records are applied in one database transaction. Where a topic's handler can apply
events set-wise (`Apply.many`), the batch goes through in a few statements: one insert of the
inbox rows (the duplicates fall out), one call with the fresh events. If that fails for any
reason but a transient one, the batch is rolled back and applied again one message at a time,
each inside a savepoint, so one bad message cannot spoil the batch. A message that can never
apply (malformed, breaks a rule, or keeps failing) comes back as `Poisoned` for the dead-letter
path; polling, offsets, retries and the dead-letter path are shared.messaging.consumer's. An event is
applied by the handler of its declared type (its envelope's `type` and `version`), and only on
that type's own topic: any other type found on a topic is dead-lettered as `wrong_type`.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import orjson
import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError

from shared import faults
from shared.clock import utcnow
from shared.contracts import Envelope, parse_envelope
from shared.db.engines import is_transient, safe_error
from shared.db.upserts import insert_ignore, insert_ignore_many
from shared.errors import DomainError, PermanentMessageError
from shared.observability import tracing

log = logging.getLogger(__name__)

# A value its column cannot hold (DataError: too long, out of range; OverflowError: an integer
# past SQLite's 64 bits, refused by its driver) is as permanent as a broken rule.
PERMANENT_ERRORS = (PermanentMessageError, ValidationError, DomainError, IntegrityError, DataError, OverflowError)


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


def _set_wise(handler: Handler) -> bool:
    """Whether a topic's handler can apply events set-wise (an `Apply` with `many`)."""
    return isinstance(handler, Apply) and handler.many is not None


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


class RetryBatch(Exception):
    """An unexpected error that may pass: roll the whole batch back and try again."""


def describe(exc: BaseException, trace: bool = False) -> str:
    """For logs and dead-letter headers: never a row's values (see `safe_error`)."""
    text = safe_error(exc)
    if isinstance(exc, ValidationError):
        text = f"ValidationError: {json.dumps(exc.messages, default=str)}"
    if trace:  # where it failed, not the message again
        text += "\n" + "".join(traceback.format_tb(exc.__traceback__)[-3:])
    return text


class Inbox:
    """Applies one batch of records for consumer group `group`; `handlers` are keyed by topic name,
    `topic_name` gives a topic's full (possibly prefixed) name, the one its records carry."""

    def __init__(
        self,
        *,
        engine: Engine,
        table: sa.Table,
        group: str,
        handlers: dict[str, Handler],
        topic_name: Callable[[str], str],
        max_attempts: int,
    ):
        self.engine = engine
        self.table = table
        self.group = group
        self.handlers = {topic_name(topic): handler for topic, handler in handlers.items()}  # by full name
        self.base_topic = {topic_name(topic): topic for topic in handlers}
        self.max_attempts = max_attempts
        self.attempts: dict[tuple[str, int, int], int] = {}
        self.set_wise_batches = 0  # batches that took the fast path (for tests and benchmarks)

    def apply_batch(self, records: list) -> BatchOutcome:
        parsed, malformed = self._parse(records)
        if parsed and all(_set_wise(self.handlers[p.record.topic]) for p in parsed):
            try:
                outcome = self._apply_set(parsed)
                outcome.poisoned.extend(malformed)
                self.set_wise_batches += 1
                for p in parsed:
                    self.forget(p.record)
                return outcome
            except Exception as exc:  # noqa: BLE001 - transient: retried as a whole; else: one by one
                if is_transient(exc):
                    raise
                log.info(
                    "batch refused set-wise; applying it one message at a time", extra={"error": describe(exc)[:300]}
                )
        outcome = BatchOutcome(poisoned=malformed)
        with self.engine.begin() as conn:
            for item in parsed:
                self._apply_one(conn, item, outcome)
                faults.point("consumer.mid_batch")
        return outcome

    def forget(self, record) -> None:
        """A record applied or dead-lettered: its failed attempts no longer count (against a later
        record at its offset either: a broker restarted empty numbers its log from 0 again)."""
        self.attempts.pop((record.topic, record.partition, record.offset), None)

    def _parse(self, records: list) -> tuple[list[Parsed], list[Poisoned]]:
        parsed, malformed = [], []
        for record in records:
            try:
                raw = orjson.loads(record.value)
                if not isinstance(raw, dict):
                    raise PermanentMessageError("message value is not a JSON object")
                envelope, data = parse_envelope(raw)
            except (ValueError, TypeError, ValidationError, PermanentMessageError) as exc:
                malformed.append(Poisoned(record, "malformed", describe(exc)))
                continue
            expected = self.base_topic.get(record.topic)
            if envelope.topic != expected:
                # The handler is chosen by the event's declared type: a reversal on the purchases'
                # topic would otherwise be applied by the purchase handler (and credit coins).
                error = f"event type {envelope.topic} on topic {expected}: not one this topic carries"
                log.warning("event of another topic's type", extra={"event_id": envelope.event_id, "error": error})
                malformed.append(Poisoned(record, "wrong_type", error))
                continue
            parsed.append(Parsed(record, envelope, data))
        return parsed, malformed

    def _row(self, record, envelope: Envelope, now) -> dict:
        return {
            "consumer": self.group,
            "event_id": envelope.event_id,
            "topic": self.base_topic[record.topic],
            "partition": record.partition,
            "offset": record.offset,
            "processed_at": now,
        }

    def _apply_set(self, parsed: list[Parsed]) -> BatchOutcome:
        """The batch in one transaction; each event's processing a span (CONSUMER) of its own trace,
        for as long as the batch takes."""
        spans = {id(p): tracing.of_message(p.record, group=self.group) for p in parsed}
        try:
            return self._apply_set_in(parsed, spans)
        except BaseException as exc:
            for span in spans.values():
                span.fail(type(exc).__name__, exc)
            raise
        finally:
            for span in spans.values():
                span.end()

    def _apply_set_in(self, parsed: list[Parsed], spans: dict[int, tracing.Span]) -> BatchOutcome:
        outcome = BatchOutcome()
        with self.engine.begin() as conn:
            now = utcnow()
            fresh_ids = insert_ignore_many(
                conn,
                self.table,
                [self._row(p.record, p.envelope, now) for p in parsed],
                ["consumer", "event_id"],
                returning="event_id",
            )
            fresh: dict[str, list[Parsed]] = {}
            for p in parsed:
                if p.envelope.event_id in fresh_ids:
                    fresh_ids.discard(p.envelope.event_id)  # an event repeated within the batch counts once
                    faults.point("consumer.handle", key=(p.record.key or b"").decode(errors="replace"))
                    fresh.setdefault(p.record.topic, []).append(p)
                    outcome.counts[(p.envelope.topic, "applied")] += 1
                else:
                    spans[id(p)].set(coins__inbox__duplicate=True)
                    outcome.counts[(p.envelope.topic, "duplicate")] += 1
            for topic, items in fresh.items():
                self.handlers[topic].many(conn, [(p.envelope, p.data) for p in items])
            faults.point("consumer.mid_batch")
        for items in fresh.values() if log.isEnabledFor(logging.INFO) else ():
            for p in items:
                token = tracing.enter(spans[id(p)])
                try:
                    log.info("event applied", extra={"event_id": p.envelope.event_id, "topic": p.envelope.topic})
                finally:
                    tracing.leave(token)
        return outcome

    def _apply_one(self, conn: Connection, item: Parsed, outcome: BatchOutcome) -> None:
        record, envelope, data = item.record, item.envelope, item.data
        span = tracing.of_message(record, group=self.group)
        token = tracing.enter(span)
        try:
            savepoint = conn.begin_nested()
            try:
                fresh = insert_ignore(conn, self.table, self._row(record, envelope, utcnow()), ["consumer", "event_id"])
                if fresh:
                    faults.point("consumer.handle", key=(record.key or b"").decode(errors="replace"))
                    self.handlers[record.topic](conn, envelope, data)
                savepoint.commit()
                self.forget(record)
            except Exception as exc:
                span.fail(type(exc).__name__, exc)
                outcome.poisoned.append(self._refused(savepoint, item, exc))  # or raised: retry the batch
                return
            outcome.counts[(envelope.topic, "applied" if fresh else "duplicate")] += 1
            if fresh:
                log.info("event applied", extra={"event_id": envelope.event_id, "topic": envelope.topic})
            else:
                span.set(coins__inbox__duplicate=True)
        finally:
            tracing.leave(token)
            span.end()

    def _refused(self, savepoint, item: Parsed, exc: Exception) -> Poisoned:
        """A message that failed in its savepoint: poisoned if it can never apply (a rule broken,
        or failed max_attempts times); anything that may pass is raised to retry the batch."""
        record, envelope = item.record, item.envelope
        if isinstance(exc, PERMANENT_ERRORS):
            savepoint.rollback()
            if isinstance(exc, IntegrityError) and is_transient(exc):
                raise
            log.warning("event refused", extra={"event_id": envelope.event_id, "error": describe(exc)})
            return Poisoned(record, "rejected", describe(exc))
        if is_transient(exc):
            raise
        key = (record.topic, record.partition, record.offset)
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if self.attempts[key] >= self.max_attempts:
            savepoint.rollback()
            log.error("event failed repeatedly", extra={"event_id": envelope.event_id})
            return Poisoned(record, "failed", describe(exc, trace=True))
        raise RetryBatch(str(exc)) from exc
