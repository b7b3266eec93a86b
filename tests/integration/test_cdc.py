"""The CDC path on the real broker: Debezium's PostgreSQL connector with the outbox event router on
Kafka Connect (distributed mode, from the jars, as its own SASL principal held to its ACLs), and
the switch of a running relay to it and back (coinsctl.cdc).

Kafka Connect is a JVM: one worker for the module.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import psycopg
import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer

from coinsctl import cdc
from coinsctl.connect_worker import ConnectWorker
from coinsctl.kafka_acls import apply_acls, connect_acls, service_acls
from services.gifting.adapters.orm import tables as gifting_tables
from shared.contracts import GIFT_SENT
from shared.db.migrate import upgrade
from shared.kafka.admin import TopicPolicy, ensure_topics
from shared.kafka.clients import client_options, make_producer
from shared.messaging.relay import OutboxRelay
from shared.messaging.uow import Outbox
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
CDC_ROLE = "coins_cdc"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def connect(broker, postgres, tmp_path_factory):
    """A Connect worker as the `connect` principal, its ACLs applied, on topics of its own prefix."""
    if not broker.secured:
        pytest.skip("the CDC path is tested on Apache Kafka (its SASL principals and ACLs)")
    prefix = f"c{uuid.uuid4().hex[:8]}."
    admin = broker.settings("admin", topic_prefix=prefix)
    ensure_topics(admin, TopicPolicy(partitions=3))
    apply_acls(admin, connect_acls(("gifting",), topic_prefix=prefix) + service_acls("gifting", topic_prefix=prefix))
    with psycopg.connect(postgres.ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (CDC_ROLE,)).fetchone():
            conn.execute(f"CREATE ROLE {CDC_ROLE} LOGIN REPLICATION")
    worker = ConnectWorker.on_broker(tmp_path_factory.mktemp("connect"), broker, prefix)
    worker.start()
    yield worker, prefix
    worker.stop()


def write_events(engine, count: int) -> list[str]:
    """`count` gift events written to gifting's outbox, as its handlers write them (with a trace)."""
    ids = []
    with engine.begin() as conn:
        outbox = Outbox(conn, gifting_tables["outbox"], "gifting")
        for _ in range(count):
            row = outbox.row(
                GIFT_SENT,
                {
                    "gift_tx_id": str(uuid.uuid4()),
                    "sender_id": "viewer",
                    "creator_id": "creator",
                    "gift_id": "rose",
                    "quantity": 1,
                    "coins": 1,
                    "diamonds": 1,
                    "stream_id": None,
                    "sent_at": "2026-01-01T00:00:00+00:00",
                },
            )
            row["traceparent"] = TRACEPARENT
            outbox.insert(row)
            ids.append(row["event_id"])
    return ids


class Topic:
    """Every record of gift.sent so far, read from the start of each partition."""

    def __init__(self, settings):
        self.consumer = KafkaConsumer(
            settings.topic(GIFT_SENT.topic),
            **client_options(settings),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        self.records = []

    def read_until(self, condition, message: str):
        def more() -> bool:
            for batch in self.consumer.poll(timeout_ms=500).values():
                self.records.extend(batch)
            return condition(self.records)

        wait_until(more, timeout=90, message=message)
        return self.records


def test_a_running_relay_switches_to_debezium_and_back_without_losing_or_repeating_an_event(
    connect, broker, pg_url, postgres
):
    worker, prefix = connect
    url = pg_url("gifting")
    upgrade("gifting", url)
    cdc.prepare(url, CDC_ROLE)
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    kafka = broker.settings("gifting", topic_prefix=prefix)
    producer = make_producer(kafka, client_id="test-relay")
    relay = OutboxRelay(
        engine=engine, table=gifting_tables["outbox"], producer=producer, topic_name=kafka.topic, service="gifting"
    )
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    topic = Topic(broker.settings("admin", topic_prefix=prefix))
    connector = cdc.connector_config("gifting", url, user=CDC_ROLE, topic_prefix=prefix)
    try:
        by_relay = write_events(engine, 5)
        topic.read_until(lambda r: len(r) >= 5, "the relay's first events")
        around_switch = write_events(engine, 3)  # the relay may or may not have sent them yet
        switched = cdc.to_cdc(
            "gifting",
            url,
            gifting_tables["outbox"],
            producer,
            kafka.topic,
            rest=worker.rest,
            connector=connector,
        )
        wait_until(lambda: worker.rest.running("coins-outbox-gifting"), timeout=90, message="the connector runs")
        by_cdc = write_events(engine, 6)
        records = topic.read_until(lambda r: len(r) >= 14, "every event before and after the switch")
        ids = Counter(dict(r.headers)["event_id"].decode() for r in records)
        assert set(ids) == set(by_relay + around_switch + by_cdc)
        assert max(ids.values()) == 1, "to CDC: no event sent twice"
        assert switched.published_by_switch <= 3

        # Debezium's records are the relay's: same key, value and headers (consumers unchanged).
        first_relayed = next(r for r in records if dict(r.headers)["event_id"].decode() == by_relay[0])
        first_captured = next(r for r in records if dict(r.headers)["event_id"].decode() == by_cdc[0])
        with engine.connect() as conn:
            key, payload = conn.execute(
                sa.text("SELECT message_key, payload FROM outbox WHERE event_id = :e"), {"e": by_cdc[0]}
            ).one()
        assert first_captured.key == key.encode() and first_captured.value == payload.encode()
        headers = {k: v for k, v in first_captured.headers if v is not None}
        assert headers["type"] == b"gift.sent" and headers["traceparent"] == TRACEPARENT.encode()
        assert {k for k, v in first_relayed.headers} <= set(headers)
        assert first_captured.topic == first_relayed.topic == kafka.topic(GIFT_SENT.topic)

        # Retention under CDC: what the slot confirmed is marked published (then pruned as usual).
        wait_until(
            lambda: cdc.mark_streamed(url, "gifting", timeout_s=5) is not None,
            timeout=60,
            message="the slot confirms",
        )
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar() == 0

        cdc.to_relay("gifting", url, rest=worker.rest)
        after = write_events(engine, 4)
        records = topic.read_until(
            lambda r: {dict(x.headers)["event_id"].decode() for x in r} >= set(after), "the relay again"
        )
        ids = Counter(dict(r.headers)["event_id"].decode() for r in records)
        assert set(ids) == set(by_relay + around_switch + by_cdc + after)
        assert max(ids.values()) == 1, "nothing streamed and confirmed is sent again"
    finally:
        stop.set()
        thread.join(timeout=10)
        topic.consumer.close()
        producer.close()
        relay.close()
        engine.dispose()
        cdc.to_relay("gifting", url, rest=worker.rest, mark_timeout_s=0)  # the slot goes: the database can be dropped
