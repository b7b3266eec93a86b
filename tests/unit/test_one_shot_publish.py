"""A tool's one-shot send (a replay, a test's poison message) is acknowledged or raises; a send
that failed goes out again, on a new producer."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaTimeoutError

from shared.kafka import clients as kafka_module
from shared.kafka.settings import KafkaSettings


class Future:
    def __init__(self, error: Exception | None):
        self.error = error

    def get(self, timeout=None):
        if self.error is not None:
            raise self.error
        return "acknowledged"


class Producer:
    """A refusing producer's sends all fail (its broker never answered them)."""

    def __init__(self, refuse: bool):
        self.refuse, self.sent = refuse, []

    def send(self, topic, **record):
        self.sent.append((topic, record["value"]))
        return Future(KafkaTimeoutError() if self.refuse else None)

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


@pytest.fixture
def producers(monkeypatch):
    made: list[Producer] = []

    def make(settings, *, client_id):
        made.append(Producer(refuse=not made))  # the first producer's sends are refused
        return made[-1]

    monkeypatch.setattr(kafka_module, "make_producer", make)
    return made


def test_a_send_that_failed_goes_out_again_on_a_new_producer(producers):
    kafka_module.publish(
        KafkaSettings(bootstrap_servers="b:9092"), [{"topic": "t", "value": b"x"}], client_id="poisoner"
    )
    assert [p.sent for p in producers] == [[("t", b"x")], [("t", b"x")]]


def test_a_send_that_keeps_failing_raises(monkeypatch):
    monkeypatch.setattr(kafka_module, "make_producer", lambda settings, *, client_id: Producer(refuse=True))
    with pytest.raises(KafkaTimeoutError):
        kafka_module.publish(
            KafkaSettings(bootstrap_servers="b:9092"), [{"topic": "t", "value": b"x"}], client_id="replay", attempts=2
        )
