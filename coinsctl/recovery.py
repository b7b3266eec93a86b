"""Recovery tools: dead letters (list, replay) and re-publishing a service's outbox.

Replays and re-publication are safe because every consumer is idempotent: an event already
applied is recognised by its id in the inbox and skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from shared.contracts import CONTRACTS
from shared.kafka import client_options, publish
from shared.settings import KafkaSettings


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the topic it failed on (as published, prefix included)
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def event_id(self) -> str | None:
        raw = self.headers.get("event_id")
        return raw.decode() if raw else None

    def header(self, name: str) -> str:
        return self.headers.get(name, b"").decode(errors="replace")


def dead_letters(kafka: KafkaSettings, topics: list[str] | None = None) -> list[DeadLetter]:
    """Every record in the dead-letter topics (all of them unless `topics` names some)."""
    names = [kafka.topic(t) + ".dlq" for t in (topics or CONTRACTS)]
    consumer = KafkaConsumer(**client_options(kafka), enable_auto_commit=False,
                             client_id="coinsctl-dlq")
    try:
        partitions = [TopicPartition(name, p) for name in names
                      for p in sorted(consumer.partitions_for_topic(name) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        found: list[DeadLetter] = []
        # Read until a poll brings nothing new and every partition reached its end offset
        # (the end offset alone is not trusted: some brokers report it per batch).
        while True:
            batch = consumer.poll(timeout_ms=1500)
            records = [r for rs in batch.values() for r in rs]
            for r in records:
                found.append(DeadLetter(r.topic.removesuffix(".dlq"), r.partition, r.offset, r.key, r.value,
                                        {k: v for k, v in (r.headers or ())}))
            if not records and all(consumer.position(tp) >= end[tp] for tp in partitions):
                return found
    finally:
        consumer.close()


def replay(kafka: KafkaSettings, letters: list[DeadLetter]) -> int:
    """Publish dead letters again to the topic they failed on, with their original headers."""
    publish(kafka, [{"topic": letter.topic, "key": letter.key, "value": letter.value, "headers": [
        (k, v) for k, v in letter.headers.items() if not k.startswith("dlq.")] + [("replayed", b"true")]}
        for letter in letters], client_id="coinsctl-replay")
    return len(letters)


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
    consumer = KafkaConsumer(**client_options(kafka), group_id=group,
                             enable_auto_commit=False, client_id="coinsctl-rewind")
    try:
        partitions = [TopicPartition(kafka.topic(t), p) for t in topics
                      for p in sorted(consumer.partitions_for_topic(kafka.topic(t)) or ())]
        consumer.assign(partitions)
        beginning = consumer.beginning_offsets(partitions)
        consumer.commit({tp: OffsetAndMetadata(beginning[tp], "", -1) for tp in partitions})
        return len(partitions)
    finally:
        consumer.close(autocommit=False)
