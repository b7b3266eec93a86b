"""The dead-letter path: a message that can never apply goes to `<topic>.dlq`, the reason in its
headers, so that its partition moves on (coinsctl replays or resolves it). `dlq.topic`,
`dlq.partition` and `dlq.offset` name the original: `coinsctl dlq replay` republishes a letter only
if that record is still on its topic and identical (any consumer's principal can write the `.dlq`)."""

from __future__ import annotations

from shared.clock import utcnow
from shared.messaging.inbox import Poisoned


def send_dead_letters(producer, group: str, poisoned: list[Poisoned]) -> None:
    """Send each poisoned record to its topic's dead-letter topic and wait until the broker has
    taken every one; if it has not, raise (the batch is retried) after rebuilding the producer."""
    futures = []
    for item in poisoned:
        record = item.record
        headers = list(record.headers or ()) + [
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
