"""Recovery tools: dead letters (list, replay, resolve) and re-publishing a service's outbox.

Replays and re-publication are safe because every consumer is idempotent: an event already
applied is recognised by its id in the inbox and skipped. A replay republishes only what its
original topic holds: each dead letter names the record it copies (`dlq.topic`, `dlq.partition`,
`dlq.offset`), which is read back and must match it byte for byte: key, value and the headers it
copied (every header but the consumer's `dlq.*`), and it must name the consumer group that wrote
it (`dlq.consumer`). Only the original record is republished, never the letter. A consumer's principal may
write its topics' dead-letter topics, but only the producer's may write the topic itself, so a
dead letter forged by a consumer is refused, never published as the producer's event.

A dead letter that was replayed (or resolved by hand) is marked resolved by a marker record in its
own dead-letter topic (header `dlq.resolves: <partition>:<offset>`, no value); listings leave
resolved letters out. Kafka keeps the history; nothing else has to be created or kept in step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import click
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from shared.contracts import CONTRACTS
from shared.kafka.clients import client_options, publish, sendable_headers
from shared.kafka.settings import KafkaSettings

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


READ_STALL_S = 60.0  # how long reading the dead-letter topics may go without a record before it gives up


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
        # (the end offset alone is not trusted: Tansu reports it per batch; Apache Kafka's is exact);
        # a partition that stops answering before its end fails the command, never hangs it.
        progress_at = time.monotonic()
        while True:
            batch = consumer.poll(timeout_ms=1500)
            records = [r for rs in batch.values() for r in rs]
            if records:
                progress_at = time.monotonic()
            elif all(consumer.position(tp) >= end[tp] for tp in partitions):
                return found, resolved
            elif time.monotonic() - progress_at > READ_STALL_S:
                behind = sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions if consumer.position(tp) < end[tp])
                raise click.ClickException(
                    f"dead letters unread after {READ_STALL_S:.0f} s without progress: {', '.join(behind)}"
                )
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
    finally:
        consumer.close()


@dataclass(frozen=True)
class Refused:
    letter: DeadLetter
    reason: str


@dataclass(frozen=True)
class ReplayOutcome:
    replayed: list[DeadLetter] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def replay(kafka: KafkaSettings, letters: list[DeadLetter], *, timeout_s: float = 10.0) -> ReplayOutcome:
    """Publish again, to the topic it failed on, the original record of each dead letter that
    matches it (see `verify`); once the broker took them, mark those resolved. The others are
    refused with the reason, left unresolved and never published."""
    originals, refused = verify(kafka, letters, timeout_s=timeout_s)
    refused_ids = {id(r.letter) for r in refused}
    verified = [letter for letter in letters if id(letter) not in refused_ids]
    publish(
        kafka,
        [
            {
                "topic": original.topic,
                "key": original.key,
                "value": original.value,
                "headers": [(k, v) for k, v in sendable_headers(original.headers) if k != "replayed"]
                + [("replayed", b"true")],
            }
            for original in originals.values()  # one per original, however many letters copy it
        ],
        client_id="coinsctl-replay",
    )
    _mark_resolved(kafka, verified, how="replayed")
    return ReplayOutcome(verified, refused)


def _origin(letter: DeadLetter) -> tuple[str, str, str]:
    return letter.header("dlq.topic"), letter.header("dlq.partition"), letter.header("dlq.offset")


def verify(kafka: KafkaSettings, letters: list[DeadLetter], *, timeout_s: float = 10.0):
    """({origin: the original record} of the letters that match theirs, [Refused] of the others).

    A letter matches when its headers name a record of the topic its dead-letter topic belongs
    to, that record is still on the broker, and its key and value are the letter's, byte for byte."""
    read: dict[tuple[str, str, str], object] = {}  # origin -> its record (or why there is none), read once
    originals: dict[tuple[str, str, str], object] = {}
    refused: list[Refused] = []
    consumer = KafkaConsumer(
        **client_options(kafka), enable_auto_commit=False, client_id="coinsctl-dlq-verify", request_timeout_ms=15_000
    )
    try:
        for letter in letters:
            origin = _origin(letter)
            if origin not in read:
                read[origin] = _original(consumer, letter, timeout_s)
            found = read[origin]
            why = found if isinstance(found, str) else mismatch(found, letter)
            if why is not None:
                refused.append(Refused(letter, why))
            else:
                originals[origin] = found
    finally:
        consumer.close()
    return originals, refused


def mismatch(original, letter: DeadLetter) -> str | None:
    """Why a letter is not a true copy of `original` (a record read back from its topic), or None."""
    where = f"{original.topic}[{original.partition}]@{original.offset}"
    if original.key != letter.key or original.value != letter.value:
        return f"differs from the original at {where}"
    copied = {k: v for k, v in letter.headers.items() if not k.startswith("dlq.")}
    if copied != dict(sendable_headers(original.headers)):  # a letter copies those a producer can send
        return f"its headers differ from those of the original at {where}"
    if not letter.header("dlq.consumer"):
        return "no dlq.consumer header: not written by a consumer group's dead-lettering"
    return None


def _original(consumer: KafkaConsumer, letter: DeadLetter, timeout_s: float):
    """The record a dead letter names, or why there is none."""
    topic, partition, offset = _origin(letter)
    if topic != letter.topic:
        return f"its dlq.topic header names {topic or 'nothing'}, not {letter.topic}"
    if not all(n.isascii() and n.isdigit() for n in (partition, offset)):
        return "no valid dlq.partition/dlq.offset headers"
    tp, wanted = TopicPartition(topic, int(partition)), int(offset)
    if tp.partition not in (consumer.partitions_for_topic(topic) or ()):
        return f"{topic} has no partition {tp.partition}"
    consumer.assign([tp])
    first = consumer.beginning_offsets([tp])[tp]
    end = consumer.end_offsets([tp])[tp]
    if wanted < first:
        return f"the original is gone (retention): {topic}[{tp.partition}] starts at offset {first}"
    # Past the end offset there is no record on Apache Kafka; Tansu's end offset is the base offset
    # of its last batch plus one, so the rest of that batch is looked for too, briefly.
    beyond = wanted >= end
    consumer.seek(tp, wanted)
    deadline = time.monotonic() + (min(timeout_s, 3.0) if beyond else timeout_s)
    while time.monotonic() < deadline:
        for record in consumer.poll(timeout_ms=500).get(tp, ()):
            if record.offset == wanted:
                return record
            if record.offset > wanted:
                return f"no record at {topic}[{tp.partition}]@{wanted} (compacted or a control record)"
    if beyond:
        return f"no such record: {topic}[{tp.partition}] ends at offset {end}"
    return f"the original at {topic}[{tp.partition}]@{wanted} could not be read within {timeout_s:.0f}s"


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


class RepublishRefused(Exception):
    """`outbox republish` would report events queued that nobody sends."""


def republish(service: str, database_url: str, since: datetime) -> int:
    """Mark `service`'s outbox events since `since` unpublished; its relay sends them again.
    Refused while CDC publishes the outbox: the relay stands aside, Debezium streams inserts only
    (not this update), and the next `cdc-mark` would mark the rows published again, unsent."""
    from importlib import import_module

    import sqlalchemy as sa

    from shared.db.engines import make_engine
    from shared.messaging.uow import republish_since

    tables = import_module(f"services.{service}.adapters.orm").tables
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Checked and marked in one transaction that a switch cannot cross: `cdc-on`'s
                # INSERT of its switch row waits for this one, and this one for a switch under way.
                conn.execute(sa.text(f"LOCK TABLE {tables['outbox_cdc'].name} IN SHARE MODE"))
            if conn.execute(sa.select(sa.exists().select_from(tables["outbox_cdc"]))).scalar():
                raise RepublishRefused(
                    f"{service}: CDC publishes this outbox, and would not send rows marked again: "
                    f"`coinsctl outbox cdc-off {service}` first, then republish"
                )
            return republish_since(conn, tables["outbox"], since)
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
