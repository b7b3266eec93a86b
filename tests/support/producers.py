"""A stand-in for the relay's Kafka producer, for tests that need no broker."""

from __future__ import annotations

from kafka.producer.future import FutureProduceResult, FutureRecordMetadata


class AcksTheFirst:
    """A producer whose broker acknowledges the first `n` records it is sent (all of them when `n`
    is None), and fails the rest."""

    def __init__(self, n: int | None = None):
        self.n = n
        self.sent = 0

    def send(self, topic, key, value, headers):
        self.sent += 1
        future = FutureRecordMetadata(FutureProduceResult(None), 0, -1, None, -1, -1, -1)
        if self.n is None or self.sent <= self.n:
            future.success(None)
        else:
            future.failure(RuntimeError("not acknowledged"))
        return future

    def flush(self, timeout=None):
        pass
