"""Batches fill for a short linger once their first events are there: the consumer gathers
records from several polls (and loses none when a lingering poll fails or rejoins its group), the
relay waits before polling again after a partial batch."""

import threading
import time
from types import SimpleNamespace

from kafka import TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from shared.messaging.consumer import InboxConsumer
from shared.messaging.inbox import BatchOutcome
from shared.messaging.relay import OutboxRelay


class OneRecordPerPoll:
    """A consumer that hands out one record per poll, like a topic fed slowly."""

    def __init__(self, records):
        self.records = list(records)
        self.polls = []

    def poll(self, timeout_ms, max_records=None):
        self.polls.append((timeout_ms, max_records))
        if not self.records:
            time.sleep(timeout_ms / 1000)
            return {}
        return {"tp": [self.records.pop(0)]}


def consumer(fake, **kwargs):
    return InboxConsumer(
        engine=None,
        inbox=None,
        consumer=fake,
        producer=None,
        handlers={},
        group="g",
        service="s",
        topic_name=str,
        **kwargs,
    )


def test_the_consumer_lets_a_batch_fill_for_the_linger():
    fake = OneRecordPerPoll(range(10))
    assert consumer(fake, batch_size=4, linger_s=5.0)._gather()[0] == [0, 1, 2, 3]  # full before the linger ends
    assert [max_records for _, max_records in fake.polls] == [4, 3, 2, 1]


def test_the_linger_is_bounded_in_time_and_off_when_zero():
    fake = OneRecordPerPoll(range(2))
    started = time.monotonic()
    assert consumer(fake, batch_size=100, linger_s=0.2)._gather()[0] == [0, 1]
    assert 0.15 <= time.monotonic() - started < 2
    fake = OneRecordPerPoll(range(5))
    assert consumer(fake, batch_size=100, linger_s=0)._gather()[0] == [0]


def test_nothing_polled_returns_at_once_without_lingering():
    fake = OneRecordPerPoll([])
    assert consumer(fake, batch_size=100, linger_s=5.0)._gather()[0] == []
    assert len(fake.polls) == 1


class OnePartitionLog:
    """One partition's log with kafka-python's position semantics: `poll` hands out the records
    from the position and moves it past them, `seek` moves it. The poll calls in `fail_on`
    (1-based) raise what kafka-python raises on the call after one that drained records when
    another partition's fetch failed (its Fetcher's `_next_in_line_exception_metadata`)."""

    def __init__(self, offsets, fail_on=(), stop=None):
        self.log, self.position, self.calls, self.fail_on = list(offsets), 0, 0, set(fail_on)
        self.commits, self.stop, self.tp = [], stop, TopicPartition("t", 0)

    def assignment(self):
        return {self.tp}

    def seek(self, tp, offset):
        self.position = offset

    def commit(self, offsets):
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})

    def poll(self, timeout_ms, max_records=None):
        self.calls += 1
        if self.calls in self.fail_on:
            self.log.append(max(self.log) + 1)  # meanwhile a later event arrives
            raise TopicAuthorizationFailedError({"purchase.reversed.v1"})
        out = [o for o in self.log if o >= self.position][: max_records or 10**9]
        if not out:
            if self.stop is not None and self.calls > 6:
                self.stop.set()
            return {}
        self.position = out[-1] + 1
        return {self.tp: [SimpleNamespace(topic="t", partition=0, offset=o, key=b"k", headers=[]) for o in out]}


def test_records_in_hand_when_a_lingering_poll_fails_are_applied_not_skipped():
    stop = threading.Event()
    log = OnePartitionLog([0, 1], fail_on={2}, stop=stop)  # poll 1 hands out 0 and 1; the linger's poll raises
    loop = consumer(log, linger_s=0.05, commit_interval_s=0, max_backoff_s=0.01)
    applied = []

    def apply(records):
        applied.extend(r.offset for r in records)
        return BatchOutcome()

    loop.apply_batch = apply
    loop.run(stop)
    assert applied == [0, 1, 2] and log.commits[-1] == {0: 3}


class RejoinsWhileLingering(OnePartitionLog):
    """Hands out two records in one membership, and has rejoined its group by the next poll."""

    def __init__(self):
        super().__init__([1000, 1001])
        self.generation = 7

    def group_metadata(self):
        return SimpleNamespace(generation_id=self.generation, member_id=f"m-{self.generation}")

    def poll(self, timeout_ms, max_records=None):
        if self.calls:  # the linger's poll rejoins first (after a broker lost its data, say), as kafka-python's does
            self.generation = 8
        return super().poll(timeout_ms, max_records)


def test_records_read_before_a_rejoin_while_lingering_are_not_committed_in_the_new_membership():
    fake = RejoinsWhileLingering()
    loop = consumer(fake, linger_s=0.05, commit_interval_s=60)
    loop.apply_batch = lambda records: BatchOutcome()
    records, read_in = loop._gather()
    assert [r.offset for r in records] == [1000, 1001] and read_in == (7, "m-7")
    loop.handle(records, read_in)
    loop.offsets.commit_pending()
    assert fake.commits == []  # read again by the new membership; the inbox dedupes


class ScriptedRelay(OutboxRelay):
    """The relay loop with its database and broker replaced by a script of batches."""

    def __init__(self, batches, stop, **kwargs):
        super().__init__(engine=None, table=_table(), producer=None, topic_name=str, service="s", **kwargs)
        self.batches = list(batches)
        self.stop = stop
        self.polled_at = []

    def fetch_batch(self):
        self.polled_at.append(time.monotonic())
        if not self.batches:
            self.stop.set()
            return []
        return self.batches.pop(0)

    def publish(self, rows):
        return len(rows)


def _table():
    import sqlalchemy as sa

    return sa.Table(
        "outbox",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        *(
            sa.Column(c, sa.String)
            for c in ("event_id", "topic", "message_key", "payload", "trace_id", "traceparent", "tracestate")
        ),
        sa.Column("published_at", sa.DateTime),
    )


def test_the_relay_lingers_after_a_partial_batch_and_not_after_a_full_one():
    stop = threading.Event()
    relay = ScriptedRelay([[1, 2, 3], [1], [4]], stop, batch_size=3, linger_s=0.2)
    relay.run(stop)
    first, second, third, _ = relay.polled_at
    assert second - first < 0.1  # a full batch: poll again at once
    assert third - second >= 0.18  # a partial one: let the next fill


def test_the_relay_and_the_consumer_linger_are_set_apart():
    from shared.kafka.settings import kafka_settings

    defaults = kafka_settings({})
    assert (defaults.linger_ms, defaults.consumer_linger_ms) == (15, 2)
    tuned = kafka_settings({"KAFKA_LINGER_MS": "5", "KAFKA_CONSUMER_LINGER_MS": "0"})
    assert (tuned.linger_ms, tuned.consumer_linger_ms) == (5, 0)
