"""Batches fill for a short linger once their first events are there: the consumer gathers
records from several polls, the relay waits before polling again after a partial batch."""

import threading
import time

from shared.messaging.consumer import InboxConsumer
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
    assert consumer(fake, batch_size=4, linger_s=5.0)._gather() == [0, 1, 2, 3]  # full before the linger ends
    assert [max_records for _, max_records in fake.polls] == [4, 3, 2, 1]


def test_the_linger_is_bounded_in_time_and_off_when_zero():
    fake = OneRecordPerPoll(range(2))
    started = time.monotonic()
    assert consumer(fake, batch_size=100, linger_s=0.2)._gather() == [0, 1]
    assert 0.15 <= time.monotonic() - started < 2
    fake = OneRecordPerPoll(range(5))
    assert consumer(fake, batch_size=100, linger_s=0)._gather() == [0]


def test_nothing_polled_returns_at_once_without_lingering():
    fake = OneRecordPerPoll([])
    assert consumer(fake, batch_size=100, linger_s=5.0)._gather() == []
    assert len(fake.polls) == 1


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
