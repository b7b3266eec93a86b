"""A consumer commits its offsets at most every commit interval (the inbox dedupes what a crash
re-reads), at once when a poll finds nothing or it stops, and only for partitions it still owns."""

import threading
from types import SimpleNamespace

from kafka import TopicPartition

from shared.messaging.consumer import InboxConsumer
from shared.messaging.inbox import BatchOutcome, Poisoned


class FakeConsumer:
    def __init__(self, batches=(), assigned=("t", 0), stop=None):
        self.batches = list(batches)
        self.assigned = {TopicPartition(*assigned)} if assigned else set()
        self.commits = []
        self.stop = stop

    def assignment(self):
        return set(self.assigned)

    def commit(self, offsets):
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})

    def poll(self, timeout_ms, max_records=None):
        if self.batches:
            return {"tp": self.batches.pop(0)}
        if self.stop is not None:
            self.stop.set()
        return {}


def record(offset, partition=0):
    return SimpleNamespace(topic="t", partition=partition, offset=offset, key=b"k", headers=[])


def inbox_consumer(fake, interval_s):
    consumer = InboxConsumer(
        engine=None,
        inbox=None,
        consumer=fake,
        producer=None,
        handlers={},
        group="g",
        service="s",
        topic_name=str,
        commit_interval_s=interval_s,
    )
    consumer.apply_batch = lambda records: BatchOutcome()
    return consumer


def test_offsets_wait_for_the_interval_then_go_in_one_commit():
    fake = FakeConsumer()
    consumer = inbox_consumer(fake, interval_s=60)
    consumer.handle([record(0), record(1)])
    consumer.handle([record(2)])
    assert fake.commits == []
    consumer.offsets.interval_s = 0
    consumer.handle([record(3)])
    assert fake.commits == [{0: 4}]


def test_every_batch_commits_when_the_interval_is_zero():
    fake = FakeConsumer()
    consumer = inbox_consumer(fake, interval_s=0)
    consumer.handle([record(0)])
    consumer.handle([record(1)])
    assert fake.commits == [{0: 1}, {0: 2}]


def test_a_dead_lettered_batch_commits_at_once():
    fake = FakeConsumer()
    consumer = inbox_consumer(fake, interval_s=60)
    bad = record(0)
    consumer.apply_batch = lambda records: BatchOutcome(poisoned=[Poisoned(bad, "malformed", "not JSON")])
    consumer.dead_letter = lambda poisoned: None
    consumer.handle([bad])
    assert fake.commits == [{0: 1}]


def test_a_partition_given_away_is_not_committed():
    fake = FakeConsumer(assigned=("t", 1))
    consumer = inbox_consumer(fake, interval_s=60)
    consumer.handle([record(5, partition=0), record(7, partition=1)])
    consumer.offsets.commit_pending()
    assert fake.commits == [{1: 8}]


def test_a_quiet_poll_and_the_stop_commit_what_was_applied():
    stop = threading.Event()
    fake = FakeConsumer(batches=[[record(0), record(1)]], stop=stop)
    consumer = inbox_consumer(fake, interval_s=60)
    consumer.run(stop)  # one batch, then a poll that finds nothing (and stops the loop)
    assert fake.commits == [{0: 2}]
    consumer.handle([record(2)])
    consumer.run(stop)  # already stopped: only the final commit
    assert fake.commits == [{0: 2}, {0: 3}]
    assert consumer.offsets.pending == {}


def test_the_commit_interval_is_configured_from_the_environment():
    from shared.kafka.settings import kafka_settings

    assert kafka_settings({}).commit_interval_ms == 500
    assert kafka_settings({"KAFKA_COMMIT_INTERVAL_MS": "0"}).commit_interval_ms == 0


def test_offsets_read_in_an_earlier_group_membership_are_not_committed_in_a_later_one():
    """A broker restarted empty: the member joins the new group (a new member id) with offsets of
    the lost log still pending; committed there, the next rebalance would resume past the events
    published since."""
    fake = FakeConsumer()
    fake.membership = SimpleNamespace(generation_id=7, member_id="m-lost-cluster")
    fake.group_metadata = lambda: fake.membership
    consumer = inbox_consumer(fake, interval_s=60)
    consumer.handle([record(41)])
    fake.membership = SimpleNamespace(generation_id=1, member_id="m-new-cluster")
    consumer.offsets.commit_pending()
    assert fake.commits == []
    consumer.handle([record(2)])
    consumer.offsets.commit_pending()
    assert fake.commits == [{0: 3}]
