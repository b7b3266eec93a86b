"""Recovery tools: dead letters (list, replay, resolve) and re-publishing a service's outbox.

Replays and re-publication are safe because every consumer is idempotent: an event already
applied is recognised by its id in the inbox and skipped. A dead letter that was replayed (or
resolved by hand) is marked resolved by a marker record in its own dead-letter topic (header
`dlq.resolves: <partition>:<offset>`, no value); listings leave resolved letters out. Kafka keeps
the history; nothing else has to be created or kept in step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from shared.contracts import CONTRACTS
from shared.kafka import client_options, publish
from shared.kafka_settings import KafkaSettings

RESOLVES = "dlq.resolves"


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the topic it failed on (as published, prefix included)
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    resolved_at: str | None = None  # when a replay or `dlq resolve` marked it resolved

    @property
    def event_id(self) -> str | None:
        raw = self.headers.get("event_id")
        return raw.decode() if raw else None

    def header(self, name: str) -> str:
        return self.headers.get(name, b"").decode(errors="replace")


def dead_letters(
    kafka: KafkaSettings, topics: list[str] | None = None, *, include_resolved: bool = False
) -> list[DeadLetter]:
    """The unresolved dead letters (all, with `include_resolved`) of the dead-letter topics (all of
    them unless `topics` names some)."""
    letters, resolved = _read_dlq(kafka, topics)
    marked = [replace(d, resolved_at=resolved.get((d.topic, d.partition, d.offset))) for d in letters]
    return [d for d in marked if include_resolved or d.resolved_at is None]


def _read_dlq(kafka: KafkaSettings, topics: list[str] | None):
    """(every dead letter, {(topic, partition, offset): resolved at}) from the dead-letter topics."""
    names = [kafka.topic(t) + ".dlq" for t in (topics or CONTRACTS)]
    consumer = KafkaConsumer(**client_options(kafka), enable_auto_commit=False, client_id="coinsctl-dlq")
    try:
        partitions = [
            TopicPartition(name, p) for name in names for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        if not partitions:
            return [], {}
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions, timeout_ms=30_000)
        found: list[DeadLetter] = []
        resolved: dict[tuple[str, int, int], str] = {}
        # Read until a poll brings nothing new and every partition reached its end offset
        # (the end offset alone is not trusted: Tansu reports it per batch; Apache Kafka's is exact).
        while True:
            batch = consumer.poll(timeout_ms=1500)
            records = [r for rs in batch.values() for r in rs]
            for r in records:
                headers = {k: v for k, v in (r.headers or ())}
                topic = r.topic.removesuffix(".dlq")
                if RESOLVES in headers:
                    partition, _, offset = headers[RESOLVES].decode().partition(":")
                    resolved[(topic, int(partition), int(offset))] = (
                        headers.get("dlq.resolved_at", b"").decode() or "unknown"
                    )
                else:
                    found.append(DeadLetter(topic, r.partition, r.offset, r.key, r.value, headers))
            if not records and all(consumer.position(tp) >= end[tp] for tp in partitions):
                return found, resolved
    finally:
        consumer.close()


def replay(kafka: KafkaSettings, letters: list[DeadLetter]) -> int:
    """Publish dead letters again to the topic they failed on, with their original headers; once
    the broker took them, mark them resolved."""
    publish(
        kafka,
        [
            {
                "topic": letter.topic,
                "key": letter.key,
                "value": letter.value,
                "headers": [(k, v) for k, v in letter.headers.items() if not k.startswith("dlq.")]
                + [("replayed", b"true")],
            }
            for letter in letters
        ],
        client_id="coinsctl-replay",
    )
    _mark_resolved(kafka, letters, how="replayed")
    return len(letters)


def resolve(kafka: KafkaSettings, letters: list[DeadLetter]) -> int:
    """Mark dead letters resolved without replaying them (e.g. a malformed message to discard)."""
    _mark_resolved(kafka, letters, how="resolved")
    return len(letters)


def _mark_resolved(kafka: KafkaSettings, letters: list[DeadLetter], *, how: str) -> None:
    now = datetime.now(UTC).isoformat().encode()
    publish(
        kafka,
        [
            {
                "topic": f"{letter.topic}.dlq",
                "partition": letter.partition,
                "key": letter.key,
                "value": b"",
                "headers": [
                    (RESOLVES, f"{letter.partition}:{letter.offset}".encode()),
                    ("dlq.resolved_at", now),
                    ("dlq.resolution", how.encode()),
                ],
            }
            for letter in letters
        ],
        client_id=f"coinsctl-{how}",
    )


def republish(service: str, database_url: str, since: datetime) -> int:
    """Mark `service`'s outbox events since `since` unpublished; its relay sends them again."""
    from importlib import import_module

    from shared.db import make_engine
    from shared.outbox import republish_since

    tables = import_module(f"services.{service}.adapters.orm").tables
    engine = make_engine(database_url, pool_size=1)
    try:
        return republish_since(engine, tables["outbox"], since)
    finally:
        engine.dispose()


def rewind_group(kafka: KafkaSettings, group: str, topics: list[str]) -> int:
    """Set a (stopped) consumer group's offsets back to the start of its topics: a full replay.
    Returns how many partitions were rewound."""
    consumer = KafkaConsumer(
        **client_options(kafka), group_id=group, enable_auto_commit=False, client_id="coinsctl-rewind"
    )
    try:
        partitions = [
            TopicPartition(kafka.topic(t), p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(kafka.topic(t)) or ())
        ]
        consumer.assign(partitions)
        beginning = consumer.beginning_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(beginning[tp], "", -1) for tp in partitions})
        return len(partitions)
    finally:
        consumer.close(autocommit=False)
