"""A consumer's offsets: recorded once a batch is applied (its database transaction committed),
committed to the broker at most every `interval_s` (what a crash makes the group re-read, the
inbox dedupes), only for partitions the member still owns in the group membership it read them
in, and rewound for a batch to be retried."""

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
        self._read_in: dict[TopicPartition, object] = {}  # the membership each pending offset was read in
        self._last_commit = time.monotonic()

    def applied(self, records: list, *, force: bool = False) -> None:
        """Record the offsets after `records` (applied and committed to the database) and commit
        them, with any left from earlier batches, once the interval has passed (or `force`)."""
        membership = self._membership()
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self.pending[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
            self._read_in[tp] = membership
        if self.pending and (force or time.monotonic() - self._last_commit >= self.interval_s):
            self.commit_pending()

    def _membership(self):
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
        now = self._membership()
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
