"""The consumer loop around the inbox: poll (with a linger), apply, dead-letter, commit offsets,
retry, and a watchdog that exits a stalled consumer (shared.watchdog.StallWatchdog).

Offsets are committed only after the database commit (shared.messaging.consumer_offsets: at most every
`commit_interval_s`, and whenever a poll finds nothing: what a crash makes it re-read, the inbox
dedupes). Transient
failures (database down, lock timeouts) rewind and retry with backoff, forever, dead-lettering
nothing; what can never apply goes to `<topic>.dlq` (shared.messaging.dead_letters) and the partition moves on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from kafka.errors import KafkaError
from sqlalchemy.engine import Engine

from shared import faults
from shared.db.engines import is_transient, safe_error
from shared.messaging.consumer_offsets import ConsumerOffsets
from shared.messaging.dead_letters import send_dead_letters
from shared.messaging.inbox import BatchOutcome, Handler, Inbox, Poisoned, RetryBatch, describe
from shared.observability import metrics
from shared.watchdog import StallWatchdog

log = logging.getLogger(__name__)


class InboxConsumer:
    """One group member's loop: poll a batch, apply it through the inbox, dead-letter what never
    applies, commit the offsets; `handlers` are keyed by topic name (without the prefix)."""

    def __init__(
        self,
        *,
        engine: Engine,
        inbox: sa.Table,
        consumer,
        producer,
        handlers: dict[str, Handler],
        group: str,
        service: str,
        topic_name: Callable[[str], str],
        resume: Callable[[], None] | None = None,
        max_attempts: int = 5,
        max_backoff_s: float = 10.0,
        watchdog_s: float = 0,
        batch_size: int = 1000,
        linger_s: float = 0.0,
        commit_interval_s: float = 0.0,
        health=None,
    ):
        self.consumer = consumer
        self.producer = producer
        self.group = group
        self.service = service
        self.inbox = Inbox(
            engine=engine, table=inbox, group=group, handlers=handlers, topic_name=topic_name, max_attempts=max_attempts
        )
        self.offsets = ConsumerOffsets(consumer, commit_interval_s)
        self.watchdog = StallWatchdog(watchdog_s, "consumer")
        self.resume = resume  # seeks newly assigned partitions (shared.kafka.clients.make_consumer); before every poll
        self.max_backoff_s = max_backoff_s
        self.batch_size = batch_size
        self.linger_s = linger_s  # once records arrive, how long more may join the batch
        self.health = health  # a shared.runtime.health.ProcessHealth, or None

    @property
    def set_wise_batches(self) -> int:
        """Batches that took the fast path (for tests and benchmarks)."""
        return self.inbox.set_wise_batches

    def apply_batch(self, records: list) -> BatchOutcome:
        return self.inbox.apply_batch(records)

    def dead_letter(self, poisoned: list[Poisoned]) -> None:
        send_dead_letters(self.producer, self.group, poisoned)

    # -- the loop ---------------------------------------------------------------------------------
    def handle(self, records: list) -> BatchOutcome:
        outcome = self.apply_batch(records)
        faults.point("consumer.after_db_commit")
        if outcome.poisoned:
            self.dead_letter(outcome.poisoned)
        self.offsets.applied(records, force=bool(outcome.poisoned))  # a dead letter is sent once: its offset at once
        for item in outcome.poisoned:
            self.inbox.forget(item.record)
        self._count(outcome)
        return outcome

    def _count(self, outcome: BatchOutcome) -> None:
        for (topic, result), n in outcome.counts.items():
            metrics.CONSUMED.labels(self.service, topic, result).inc(n)
        for item in outcome.poisoned:
            topic = self.inbox.base_topic.get(item.record.topic, "")
            metrics.CONSUMED.labels(self.service, topic, "dead_lettered").inc()
            metrics.DEAD_LETTERS.labels(self.service, topic, item.reason).inc()

    def _report(self, check: str, ok: bool, detail: str = "failing") -> None:
        if self.health is not None:
            self.health.report(check, ok, detail)

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
            if self.resume is not None:  # a rebalance inside the last poll: start its partitions right first
                self.resume()
            polled = self.consumer.poll(timeout_ms=left_ms, max_records=self.batch_size - len(records))
            records.extend(r for batch in polled.values() for r in batch)
        return records

    def run(self, stop: threading.Event) -> None:
        # The watchdog exits a member whose poll stops returning. For Tansu, whose group can stick
        # for good after a leave mid-rebalance; on Apache Kafka a last resort (a poll may block while
        # the broker is away, so keep watchdog_s above the longest outage worth riding out).
        self.watchdog.start(stop)
        backoff = 0.1
        while not stop.is_set():
            try:
                records = self._poll()
            except KafkaError as exc:  # the broker is away: wait for it, never exit
                self._report("poll", False, f"failing: {type(exc).__name__}")
                log.warning("poll failed; retrying", extra={"error": safe_error(exc)[:300], "backoff_s": backoff})
                backoff = self._back_off(stop, backoff)
                continue
            self._report("poll", True)
            if not records:
                self.offsets.commit_pending()  # a quiet moment: leave nothing applied to be re-read
                continue
            try:
                self.handle(records)
                self._report("batch", True)
                backoff = 0.1
            except Exception as exc:  # noqa: BLE001 - rewind, wait, retry; never skip
                self._batch_failed(exc, records, backoff)
                backoff = self._back_off(stop, backoff)
        self.offsets.commit_pending()  # stopping: what was applied is not re-read by the next member

    def _poll(self) -> list:
        if self.resume is not None:
            self.resume()
        records = self._gather()
        self.watchdog.progress()
        if self.health is not None:
            self.health.beat()
        return records

    def _batch_failed(self, exc: Exception, records: list, backoff: float) -> None:
        level = logging.WARNING if is_transient(exc) or isinstance(exc, (RetryBatch, KafkaError)) else logging.ERROR
        log.log(level, "batch not applied; retrying", extra={"error": describe(exc)[:500], "backoff_s": backoff})
        metrics.CONSUMER_RETRIES.labels(self.service).inc()
        self._report("batch", False, f"retrying: {type(exc).__name__}")
        self.offsets.rewind(records)

    def _back_off(self, stop: threading.Event, backoff: float) -> float:
        """Wait `backoff` (or until stopped); the next wait is twice as long, up to max_backoff_s."""
        stop.wait(backoff)
        return min(backoff * 2, self.max_backoff_s)
