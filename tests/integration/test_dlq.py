"""Dead letters have a resolved state (a replayed or resolved letter leaves the listing, not Kafka),
and a replay republishes only what its original topic holds: a dead letter is a copy, and a copy
that is not byte for byte the record it names (a consumer's principal may write the dead-letter
topic) is refused and never reaches the topic."""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition

from coinsctl.recovery import dead_letters, replay, resolve
from services.payout.entrypoints.consumer import event_handlers as payout_handlers
from shared.contracts import GIFT_SENT
from shared.errors import PermanentMessageError
from shared.kafka.clients import client_options, make_consumer, make_producer
from shared.messaging.consumer import InboxConsumer, send_dead_letters
from shared.messaging.inbox import Apply, Poisoned
from tests.support.events import gift_event
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def produce(kafka, topic: str, key: bytes, value: bytes, headers: list) -> tuple[int, int]:
    """(partition, offset) of the record, once the broker took it."""
    producer = make_producer(kafka, client_id="test-dlq")
    try:
        sent = producer.send(topic, key=key, value=value, headers=headers).get(timeout=15)
        return sent.partition, sent.offset
    finally:
        producer.close(timeout=10)


def read_back(kafka, topic: str, partition: int, offset: int):
    consumer = KafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return wait_until(lambda: consumer.poll(timeout_ms=500).get(tp, [None])[0], message="the record")
    finally:
        consumer.close()


def dead_letter(kafka, event_id: str) -> None:
    """An event on its topic, dead-lettered by the consumer library as a consumer would."""
    topic = kafka.topic("gift.sent.v1")
    value = b'{"event": "' + event_id.encode() + b'"}'
    partition, offset = produce(kafka, topic, b"cat", value, [("event_id", event_id.encode())])
    producer = make_producer(kafka, client_id="test-dlq")
    try:
        poisoned = Poisoned(read_back(kafka, topic, partition, offset), "failed", "boom")
        send_dead_letters(producer, "payout-test", [poisoned])
    finally:
        producer.close(timeout=10)


def records_on(kafka, topic: str) -> list:
    consumer = KafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        found = []

        def read_to_the_end():
            found.extend(r for rs in consumer.poll(timeout_ms=500).values() for r in rs)
            return all(consumer.position(tp) >= end[tp] for tp in partitions)

        wait_until(read_to_the_end, message=f"{topic} read to its end")
        return found
    finally:
        consumer.close()


def replayed_on(kafka, topic: str) -> list:
    return [r for r in records_on(kafka, topic) if dict(r.headers).get("replayed") == b"true"]


def test_a_replayed_letter_is_listed_no_more_but_kept_and_shown_with_all(kafka):
    dead_letter(kafka, "e-1")
    dead_letter(kafka, "e-2")
    letters = wait_until(lambda: len(d := dead_letters(kafka, ["gift.sent.v1"])) == 2 and d, message="two dead letters")
    outcome = replay(kafka, [d for d in letters if d.event_id == "e-1"])
    assert [d.event_id for d in outcome.replayed] == ["e-1"] and outcome.refused == []
    left = dead_letters(kafka, ["gift.sent.v1"])
    assert [d.event_id for d in left] == ["e-2"]
    everything = dead_letters(kafka, ["gift.sent.v1"], include_resolved=True)
    assert {d.event_id: d.resolved_at is not None for d in everything} == {"e-1": True, "e-2": False}
    replayed = replayed_on(kafka, kafka.topic("gift.sent.v1"))
    assert [(dict(r.headers)["event_id"], r.key, r.value) for r in replayed] == [(b"e-1", b"cat", b'{"event": "e-1"}')]
    assert not any(k.startswith("dlq.") for k, _ in replayed[0].headers)
    assert resolve(kafka, left) == 1  # discarded without a replay
    assert dead_letters(kafka, ["gift.sent.v1"]) == []
    assert len(dead_letters(kafka, ["gift.sent.v1"], include_resolved=True)) == 2


# -- forged dead letters ---------------------------------------------------------------------------
def credited(svc) -> dict[str, int]:
    with svc.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT creator_id, credited_diamonds FROM creator_accounts")).all())


@contextmanager
def payout_consumer(kafka, svc, handlers):
    consumer, resume = make_consumer(kafka, group_id="payout-dlq", topics=list(handlers), client_id="test-consumer")
    producer = make_producer(kafka, client_id="test-dlq")
    loop = InboxConsumer(
        engine=svc.engine,
        inbox=svc.tables["inbox"],
        consumer=consumer,
        resume=resume,
        producer=producer,
        handlers=handlers,
        group="payout-dlq",
        service="payout",
        topic_name=kafka.topic,
        max_backoff_s=0.5,
    )
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        consumer.close(autocommit=False)
        producer.close(timeout=5)


def test_a_forged_dead_letter_is_refused_and_never_credited_and_a_genuine_one_is_applied_once(make_service, kafka):
    payout, _ = make_service("payout")
    real = payout_handlers(payout)[GIFT_SENT.topic]
    bug = {"on": True}

    def one(conn, envelope, data):
        if bug["on"] and data["creator_id"] == "victim":
            raise PermanentMessageError("a bug, fixed later")
        real.one(conn, envelope, data)

    topic, dlq = kafka.topic(GIFT_SENT.topic), kafka.topic(GIFT_SENT.topic) + ".dlq"
    key, value, event_id = gift_event("victim", 100)
    produce(kafka, topic, key, value, [("event_id", event_id.encode())])
    marker = gift_event("other", 5)
    produce(kafka, topic, marker[0], marker[1], [("event_id", marker[2].encode())])
    with payout_consumer(kafka, payout, {GIFT_SENT.topic: Apply(one=one)}):
        wait_until(lambda: credited(payout) == {"other": 5}, message="the marker credited")
        [genuine] = wait_until(lambda: dead_letters(kafka, ["gift.sent.v1"]), message="the genuine dead letter")
        assert genuine.event_id == event_id and genuine.header("dlq.consumer") == "payout-dlq"

        # What the payout principal could write to the dead-letter topic: a richer copy of the genuine
        # letter (its headers point at the real record), one pointing at no record, one claiming
        # another topic, one with no origin at all.
        richer = json.loads(value)
        richer["event_id"], richer["data"]["diamonds"] = str(uuid.uuid4()), 1_000_000
        richer = json.dumps(richer).encode()
        origin = [(k, v) for k, v in genuine.headers.items()]
        nowhere = [(k, b"999999" if k == "dlq.offset" else v) for k, v in origin]
        elsewhere = [(k, kafka.topic("purchase.completed.v1").encode() if k == "dlq.topic" else v) for k, v in origin]
        no_offset = [("dlq.topic", topic.encode())]
        for headers, forged in ((origin, richer), (nowhere, value), (elsewhere, value), (no_offset, richer)):
            produce(kafka, dlq, key, forged, headers)
        letters = wait_until(lambda: len(d := dead_letters(kafka, ["gift.sent.v1"])) == 5 and d, message="5 letters")

        bug["on"] = False  # the fix is deployed
        outcome = replay(kafka, letters)
        assert outcome.replayed == [genuine]
        reasons = sorted(r.reason.split(":")[0].split(" at ")[0] for r in outcome.refused)
        assert reasons == [
            "differs from the original",
            "its dlq.topic header names " + kafka.topic("purchase.completed.v1") + ", not " + topic,
            "no such record",
            "no valid dlq.partition/dlq.offset headers",
        ]
        wait_until(lambda: credited(payout) == {"other": 5, "victim": 100}, message="the genuine gift credited")

        replayed = replayed_on(kafka, topic)
        assert [(r.key, r.value) for r in replayed] == [(key, value)]  # nothing forged reached the topic
        # refused letters stay listed, and are refused again
        assert sorted((d.partition, d.offset) for d in dead_letters(kafka, ["gift.sent.v1"])) == sorted(
            (r.letter.partition, r.letter.offset) for r in outcome.refused
        )
        again = replay(kafka, dead_letters(kafka, ["gift.sent.v1"]))
        assert again.replayed == [] and len(again.refused) == 4
        assert replay(kafka, [genuine]).replayed == [genuine]  # replaying the genuine again: deduped

        later = gift_event("other", 1)
        produce(kafka, topic, later[0], later[1], [("event_id", later[2].encode())])
        wait_until(lambda: credited(payout) == {"other": 6, "victim": 100}, message="later gifts; the replay once")
    with payout.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": event_id}).scalar() == 1


def test_the_cli_names_each_refused_letter_with_its_reason_and_exits_1(kafka, monkeypatch):
    from click.testing import CliRunner

    from coinsctl import cli

    monkeypatch.setattr(cli, "kafka_settings", lambda: kafka)
    dead_letter(kafka, "e-ok")
    topic = kafka.topic("gift.sent.v1")
    produce(kafka, topic + ".dlq", b"cat", b"{}", [("event_id", b"e-forged"), ("dlq.topic", topic.encode())])
    wait_until(lambda: len(dead_letters(kafka, ["gift.sent.v1"])) == 2, message="two dead letters")
    result = CliRunner().invoke(cli.main, ["dlq", "replay", "--topic", "gift.sent.v1"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert [json.loads(line)["event_id"] for line in lines[:-1]] == ["e-forged"]
    assert json.loads(lines[0])["refused"] == "no valid dlq.partition/dlq.offset headers"
    assert lines[-1] == "replayed 1 dead letters, refused 1"
    assert [dict(r.headers)["event_id"] for r in replayed_on(kafka, topic)] == [b"e-ok"]


def test_a_letter_whose_original_sits_inside_the_last_batch_of_its_partition_is_replayed(kafka):
    """Tansu reports a partition's end as its last batch's base offset plus one: the records after
    that base offset exist all the same."""
    topic = kafka.topic("gift.sent.v1")
    producer = make_producer(kafka, client_id="test-batch")
    try:
        futures = [producer.send(topic, key=b"cat", value=b"%d" % i, partition=0) for i in range(5)]
        producer.flush(timeout=15)
        offsets = [f.get(timeout=0).offset for f in futures]
        poisoned = Poisoned(read_back(kafka, topic, 0, offsets[3]), "failed", "boom")
        send_dead_letters(producer, "payout-test", [poisoned])
    finally:
        producer.close(timeout=10)
    letters = wait_until(lambda: dead_letters(kafka, ["gift.sent.v1"]), message="the dead letter")
    outcome = replay(kafka, letters)
    assert outcome.refused == [] and [d.value for d in outcome.replayed] == [b"3"]
    assert [r.value for r in replayed_on(kafka, topic)] == [b"3"]


def test_a_record_with_a_header_without_a_value_is_dead_lettered_and_its_letter_replayable(kafka):
    """Debezium's outbox router writes a header without a value for a NULL column (tracestate,
    mostly), where the relay writes none. Such a record is dead-lettered (kafka-python refuses to
    send a header without a value: the batch was retried for ever, its partition stuck), and its
    letter still matches it for a replay."""
    from coinsctl.recovery import mismatch

    topic = kafka.topic("gift.sent.v1")
    partition, offset = produce(kafka, topic, b"cat", b'{"event": "cdc"}', [("event_id", b"e-cdc")])
    as_debezium_wrote_it = read_back(kafka, topic, partition, offset)
    as_debezium_wrote_it = as_debezium_wrote_it._replace(headers=[*as_debezium_wrote_it.headers, ("tracestate", None)])
    producer = make_producer(kafka, client_id="test-dlq")
    try:
        send_dead_letters(producer, "payout-test", [Poisoned(as_debezium_wrote_it, "failed", "boom")])
    finally:
        producer.close(timeout=10)
    [letter] = [d for d in dead_letters(kafka, ["gift.sent.v1"]) if d.event_id == "e-cdc"]
    assert "tracestate" not in letter.headers
    assert mismatch(as_debezium_wrote_it, letter) is None
