"""Dead letters have a resolved state: a replayed or resolved letter leaves the listing, not Kafka."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition

from coinsctl.recovery import dead_letters, replay, resolve
from shared.kafka import client_options, make_producer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def dead_letter(kafka, event_id: str) -> None:
    producer = make_producer(kafka, client_id="test-dlq")
    producer.send(
        kafka.topic("gift.sent.v1") + ".dlq",
        key=b"cat",
        value=b'{"event": "' + event_id.encode() + b'"}',
        headers=[("event_id", event_id.encode()), ("dlq.reason", b"failed"), ("dlq.error", b"boom")],
    )
    producer.flush(timeout=10)
    producer.close(timeout=10)


def records_on(kafka, topic: str) -> list:
    consumer = KafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found = []
        for _ in range(6):
            found += [r for rs in consumer.poll(timeout_ms=500).values() for r in rs]
        return found
    finally:
        consumer.close()


def test_a_replayed_letter_is_listed_no_more_but_kept_and_shown_with_all(kafka):
    dead_letter(kafka, "e-1")
    dead_letter(kafka, "e-2")
    letters = wait_until(lambda: len(d := dead_letters(kafka, ["gift.sent.v1"])) == 2 and d, message="two dead letters")
    assert replay(kafka, [d for d in letters if d.event_id == "e-1"]) == 1
    left = dead_letters(kafka, ["gift.sent.v1"])
    assert [d.event_id for d in left] == ["e-2"]
    everything = dead_letters(kafka, ["gift.sent.v1"], include_resolved=True)
    assert {d.event_id: d.resolved_at is not None for d in everything} == {"e-1": True, "e-2": False}
    replayed = wait_until(lambda: records_on(kafka, kafka.topic("gift.sent.v1")), message="the replayed event")
    assert [dict(r.headers)["event_id"] for r in replayed] == [b"e-1"]
    assert resolve(kafka, left) == 1  # discarded without a replay
    assert dead_letters(kafka, ["gift.sent.v1"]) == []
    assert len(dead_letters(kafka, ["gift.sent.v1"], include_resolved=True)) == 2
