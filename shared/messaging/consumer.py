"""The consumer loop around the inbox: poll (with a linger), apply, dead-letter, commit offsets,
retry, and a watchdog that exits a stalled consumer. In reading order: the loop
(`InboxConsumer`), its offsets (`ConsumerOffsets`), the dead-letter path (`send_dead_letters`)
and the watchdog (`StallWatchdog`).

Offsets are committed only after the database commit (at most every `commit_interval_s`, and
whenever a poll finds nothing: what a crash makes it re-read, the inbox dedupes). Transient
failures (database down, lock timeouts) rewind and retry with backoff, forever, dead-lettering
nothing; what can never apply goes to `<topic>.dlq` and the partition moves on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from sqlalchemy.engine import Engine

from shared import faults
from shared.clock import utcnow
from shared.db.engines import is_transient, safe_error
from shared.kafka.clients import sendable_headers
from shared.messaging.inbox import BatchOutcome, Handler, Inbox, Poisoned, RetryBatch, describe
from shared.observability import metrics

log = logging.getLogger(__name__)
NOW = object()  # offsets read in the consumer's membership as it is now


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
    def handle(self, records: list, read_in=NOW) -> BatchOutcome:
        """Apply `records`, read in the group membership `read_in` (`_gather`'s; by default the
        consumer's now), and record their offsets."""
        outcome = self.apply_batch(records)
        faults.point("consumer.after_db_commit")
        if outcome.poisoned:
            self.dead_letter(outcome.poisoned)
        # A dead letter is sent once: its offset is committed at once.
        self.offsets.applied(records, read_in=read_in, force=bool(outcome.poisoned))
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

    def _gather(self) -> tuple[list, object]:
        """One batch, and the group membership its first records were read in: wait up to 500 ms
        for records, then let more join for linger_s (or until batch_size): under load a batch's
        fixed costs (transaction, offset commit) are shared by many events; on a quiet topic it
        costs at most linger_s of latency. Records of one partition stay in offset order.

        Once records are in hand the consumer's position is past them, so a lingering poll that
        fails ends the linger: the batch is applied, and the next poll meets the error (kafka-python
        raises another partition's fetch error on the call after the one that drained records)."""
        polled = self.consumer.poll(timeout_ms=500, max_records=self.batch_size)
        records = [r for batch in polled.values() for r in batch]
        read_in = self.offsets.membership()  # a rejoin while lingering must not adopt these records
        if not records or not self.linger_s:
            return records, read_in
        deadline = time.monotonic() + self.linger_s
        while len(records) < self.batch_size:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            try:
                if self.resume is not None:  # a rebalance inside the last poll: start its partitions right first
                    self.resume()
                polled = self.consumer.poll(timeout_ms=left_ms, max_records=self.batch_size - len(records))
            except KafkaError as exc:
                log.info("a lingering poll failed; applying the batch in hand", extra={"error": safe_error(exc)[:300]})
                break
            records.extend(r for batch in polled.values() for r in batch)
        return records, read_in

    def run(self, stop: threading.Event) -> None:
        # The watchdog exits a member whose poll stops returning. For Tansu, whose group can stick
        # for good after a leave mid-rebalance; on Apache Kafka a last resort (a poll may block while
        # the broker is away, so keep watchdog_s above the longest outage worth riding out).
        self.watchdog.start(stop)
        backoff = 0.1
        while not stop.is_set():
            try:
                records, read_in = self._poll()
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
                self.handle(records, read_in)
                self._report("batch", True)
                backoff = 0.1
            except Exception as exc:  # noqa: BLE001 - rewind, wait, retry; never skip
                self._batch_failed(exc, records, backoff)
                backoff = self._back_off(stop, backoff)
        self.offsets.commit_pending()  # stopping: what was applied is not re-read by the next member

    def _poll(self) -> tuple[list, object]:
        if self.resume is not None:
            self.resume()
        gathered = self._gather()
        self.watchdog.progress()
        if self.health is not None:
            self.health.beat()
        return gathered

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


# -- offsets --------------------------------------------------------------------------------------
class ConsumerOffsets:
    """A consumer's offsets: recorded once a batch is applied (its database transaction
    committed), committed to the broker at most every `interval_s` (what a crash makes the group
    re-read, the inbox dedupes), only for partitions the member still owns in the group
    membership it read them in, and rewound for a batch to be retried."""

    def __init__(self, consumer, interval_s: float = 0.0):
        self.consumer = consumer
        self.interval_s = interval_s
        self.pending: dict[TopicPartition, OffsetAndMetadata] = {}  # applied, offset not yet committed
        self._read_in: dict[TopicPartition, object] = {}  # the membership each pending offset was read in
        self._last_commit = time.monotonic()

    def applied(self, records: list, *, read_in=NOW, force: bool = False) -> None:
        """Record the offsets after `records` (applied and committed to the database), read in the
        group membership `read_in` (default: the current one), and commit them, with any left from
        earlier batches, once the interval has passed (or `force`)."""
        membership = self.membership() if read_in is NOW else read_in
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self.pending[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
            self._read_in[tp] = membership
        if self.pending and (force or time.monotonic() - self._last_commit >= self.interval_s):
            self.commit_pending()

    def membership(self):
        """(generation, member id) of the consumer in its group; None where it has none."""
        group_metadata = getattr(self.consumer, "group_metadata", None)
        if group_metadata is None:
            return None
        meta = group_metadata()
        return (meta.generation_id, meta.member_id)

    def commit_pending(self) -> None:
        """Commit every offset recorded: a quiet moment, a stop, or the interval passed."""
        offsets, self.pending = self.pending, {}
        read_in, self._read_in = self._read_in, {}
        self._last_commit = time.monotonic()
        assignment = getattr(self.consumer, "assignment", None)
        if offsets and assignment is not None:
            mine = assignment()  # a partition a rebalance gave away is its new owner's to commit
            offsets = {tp: offset for tp, offset in offsets.items() if tp in mine}
        # Offsets read in an earlier membership are not committed in this one: after a broker lost
        # its data they point into a log that is gone, and the new group would resume there (past
        # events published since). Their records are read again; the inbox dedupes them.
        now = self.membership()
        offsets = {tp: offset for tp, offset in offsets.items() if read_in.get(tp, now) == now}
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partition away; its new owner re-reads and the inbox dedupes.
            log.warning("offset commit failed; records will be redelivered", extra={"error": str(exc)})

    def rewind(self, records: list) -> None:
        """Seek each partition of `records` still assigned back to its first record: the batch is read again."""
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = self.consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)


# -- dead letters ---------------------------------------------------------------------------------
# The dead-letter path: a message that can never apply goes to `<topic>.dlq`, the reason in its
# headers, so that its partition moves on (coinsctl replays or resolves it). `dlq.topic`,
# `dlq.partition` and `dlq.offset` name the original: `coinsctl dlq replay` republishes a letter
# only if that record is still on its topic and identical (any consumer's principal can write the
# `.dlq`).
def send_dead_letters(producer, group: str, poisoned: list[Poisoned]) -> None:
    """Send each poisoned record to its topic's dead-letter topic and wait until the broker has
    taken every one; if it has not, raise (the batch is retried) after rebuilding the producer."""
    futures = []
    for item in poisoned:
        record = item.record
        headers = sendable_headers(record.headers) + [
            ("dlq.reason", item.reason.encode()),
            ("dlq.error", item.error.encode()[:4000]),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.consumer", group.encode()),
            ("dlq.failed_at", utcnow().isoformat().encode()),
        ]
        futures.append(producer.send(f"{record.topic}.dlq", key=record.key, value=record.value, headers=headers))
    try:
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=0)  # raises if the broker did not take it: the batch is retried
    except Exception:
        if hasattr(producer, "rebuild"):
            producer.rebuild()
        raise


# -- the stall watchdog ---------------------------------------------------------------------------
class StallWatchdog:
    """Exits the process (status 70) once `progress()` has not been called for `after_s` (0: never),
    so that its supervisor (make run, Kubernetes) starts a fresh one. It runs in a thread of its
    own and leaves with os._exit: the stalled thread cannot be interrupted (it sits in a call that
    never returns), and a clean exit would wait for it."""

    def __init__(self, after_s: float, what: str):
        self.after_s = after_s
        self.what = what
        self._last = time.monotonic()

    def progress(self) -> None:
        self._last = time.monotonic()

    def start(self, stop: threading.Event) -> None:
        self.progress()
        if self.after_s:
            threading.Thread(target=self._watch, args=(stop,), daemon=True, name="watchdog").start()

    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(5):
            stalled = time.monotonic() - self._last
            if stalled > self.after_s:
                log.error("%s stalled; exiting so that it is restarted", self.what, extra={"stalled_s": round(stalled)})
                logging.shutdown()
                os._exit(70)
