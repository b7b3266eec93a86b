"""A dead letter's origin headers are checked before the broker is asked: a letter that names another
topic, or no valid partition and offset, is refused with the reason (never an exception)."""

from __future__ import annotations

import pytest

from coinsctl.recovery import DeadLetter, _original, mismatch


def letter(**headers: bytes) -> DeadLetter:
    return DeadLetter("p.gift.sent.v1", 0, 7, b"k", b"{}", {f"dlq.{k}": v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "its dlq.topic header names nothing, not p.gift.sent.v1"),
        ({"topic": b"p.purchase.completed.v1", "partition": b"0", "offset": b"1"}, "names p.purchase.completed.v1"),
        ({"topic": b"gift.sent.v1", "partition": b"0", "offset": b"1"}, "names gift.sent.v1, not p.gift.sent.v1"),
        ({"topic": b"p.gift.sent.v1"}, "no valid dlq.partition/dlq.offset headers"),
        ({"topic": b"p.gift.sent.v1", "partition": b"0", "offset": b"-1"}, "no valid"),
        ({"topic": b"p.gift.sent.v1", "partition": b"0", "offset": "\u00b2".encode()}, "no valid"),
        ({"topic": b"p.gift.sent.v1", "partition": b" 0", "offset": b"1"}, "no valid"),
        ({"topic": b"p.gift.sent.v1", "partition": b"\xff", "offset": b"1"}, "no valid"),
    ],
)
def test_a_letter_without_a_valid_origin_is_refused_before_any_read(headers, reason):
    assert reason in _original(None, letter(**headers), timeout_s=1)


class Record:
    """A record as read back from the original topic."""

    topic, partition, offset = "p.gift.sent.v1", 0, 3

    def __init__(self, key=b"k", value=b"{}", headers=(("event_id", b"e1"), ("type", b"gift.sent"))):
        self.key, self.value, self.headers = key, value, list(headers)


def copy_of(record: Record, **changes) -> DeadLetter:
    """The letter a consumer group writes for `record` (shared.messaging.consumer), then `changes`."""
    headers = {k: v for k, v in record.headers}
    headers.update({"dlq.topic": b"p.gift.sent.v1", "dlq.partition": b"0", "dlq.offset": b"3"})
    headers.update({"dlq.reason": b"invalid", "dlq.consumer": b"payout-consumer"})
    headers.update(changes.pop("headers", {}))
    for name in changes.pop("without", ()):
        headers.pop(name)
    return DeadLetter(
        "p.gift.sent.v1", 0, 9, changes.get("key", record.key), changes.get("value", record.value), headers
    )


def test_only_a_true_copy_of_the_original_with_its_headers_and_its_group_is_replayed():
    original = Record()
    assert mismatch(original, copy_of(original)) is None
    assert "differs from the original" in mismatch(original, copy_of(original, value=b'{"forged": 1}'))
    assert "differs from the original" in mismatch(original, copy_of(original, key=b"other"))
    forged_type = copy_of(original, headers={"type": b"purchase.completed"})
    assert "headers differ" in mismatch(original, forged_type)
    assert "headers differ" in mismatch(original, copy_of(original, headers={"traceparent": b"00-x"}))
    assert "headers differ" in mismatch(original, copy_of(original, without=["event_id"]))
    assert "dlq.consumer" in mismatch(original, copy_of(original, without=["dlq.consumer"]))
    assert "dlq.consumer" in mismatch(original, copy_of(original, headers={"dlq.consumer": b""}))


def test_reading_dead_letters_that_stop_answering_before_their_end_fails_never_hangs(monkeypatch):
    """A dead-letter partition that stops answering mid-read (its end offset past what it gives)
    fails `dlq list|replay|resolve` with the partition named, after READ_STALL_S without a record."""
    import click
    from kafka import TopicPartition

    from coinsctl import recovery
    from shared.kafka.settings import kafka_settings

    class Stalled:
        def __init__(self, **_options):
            self.tp = TopicPartition("gift.sent.v1.dlq", 0)

        def partitions_for_topic(self, name):
            return {0} if name == self.tp.topic else None

        def assign(self, partitions):
            pass

        def seek_to_beginning(self, *partitions):
            pass

        def end_offsets(self, partitions, timeout_ms=None):
            return {tp: 5 for tp in partitions}

        def poll(self, timeout_ms):
            return {}  # nothing, ever

        def position(self, tp):
            return 2

        def close(self):
            pass

    monkeypatch.setattr(recovery, "KafkaConsumer", Stalled)
    monkeypatch.setattr(recovery, "READ_STALL_S", 0.05)
    with pytest.raises(click.ClickException, match=r"gift\.sent\.v1\.dlq\[0\]"):
        recovery._read_dlq(kafka_settings({}), ["gift.sent.v1"])
