"""A consumer's offsets: recorded once a batch is applied (its database transaction committed),
committed to the broker at most every `interval_s` (what a crash makes the group re-read, the
inbox dedupes), only for partitions the member still owns, and rewound for a batch to be retried."""

from __future__ import annotations

import logging
import time

from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError

log = logging.getLogger(__name__)


class ConsumerOffsets:
    def __init__(self, consumer, interval_s: float = 0.0):
        self.consumer = consumer
        self.interval_s = interval_s
        self.pending: dict[TopicPartition, OffsetAndMetadata] = {}  # applied, offset not yet committed
        self._last_commit = time.monotonic()

    def applied(self, records: list, *, force: bool = False) -> None:
        """Record the offsets after `records` (applied and committed to the database) and commit
        them, with any left from earlier batches, once the interval has passed (or `force`)."""
        for record in records:
            self.pending[TopicPartition(record.topic, record.partition)] = OffsetAndMetadata(record.offset + 1, "", -1)
        if self.pending and (force or time.monotonic() - self._last_commit >= self.interval_s):
            self.commit_pending()

    def commit_pending(self) -> None:
        """Commit every offset recorded: a quiet moment, a stop, or the interval passed."""
        offsets, self.pending = self.pending, {}
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
        """Seek each partition of `records` still assigned back to its first record: the batch is read again."""
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        assigned = self.consumer.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)
