"""Telemetry against real infrastructure: a web pod with its broker away, a relay's probes, consumer lag."""

from __future__ import annotations

import threading
import uuid

import pytest
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from services.gifting.domain.commands import CreditPurchase
from services.gifting.service_layer import handlers
from shared.kafka.admin import consumer_lag
from shared.kafka.clients import RebuildingProducer, client_options, make_producer
from shared.kafka.settings import KafkaSettings
from shared.messaging.relay import OutboxRelay
from shared.messaging.uow import run
from shared.observability import metrics
from shared.runtime.health import ProcessHealth
from shared.runtime.runners import LagMonitor
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    """Tokens meant for gifting (their `aud`)."""
    return auth_for("gifting")


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in a Prometheus text scrape."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_with_the_broker_away_a_web_pod_stays_ready_keeps_accepting_gifts_and_says_so(make_service, auth):
    svc, client = make_service("gifting")  # its KAFKA_BOOTSTRAP_SERVERS is a closed port
    run(
        handlers.credit_purchase, CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="ann", coins=100), uow=svc.uow()
    )
    for _ in range(3):
        sent = client.post(
            "/v1/gifts",
            json={"sender_id": "ann", "creator_id": "cat", "gift_id": "rose"},
            headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
        )
        assert sent.status_code == 201
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json["status"] == "degraded"
    assert ready.json["checks"] == {"database": "ok", "broker": "unreachable"}
    assert ready.json["outbox"]["backlog_events"] == 3
    assert "broker" in ready.json["degraded"]
    scrape = client.get("/metrics").text
    assert sample(scrape, "coins_broker_up", service="gifting") == 0.0
    assert sample(scrape, "coins_outbox_backlog_events", service="gifting") == 3.0
    assert sample(scrape, "coins_outbox_oldest_age_seconds", service="gifting") >= 0.0


def test_a_web_pod_without_its_database_is_not_ready(make_service):
    from services.gifting.bootstrap import bootstrap
    from services.gifting.entrypoints.wsgi import create_app
    from shared.db.engines import make_engine

    svc, _ = make_service("gifting")
    engine = make_engine("postgresql://postgres@127.0.0.1:1/gone")  # nothing listens there
    client = create_app(bootstrap(svc.settings, engine=engine)).test_client()
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json["status"] == "not ready"
    assert ready.json["checks"]["database"].startswith("unavailable")


def test_a_relay_that_cannot_reach_its_broker_is_live_but_not_ready(make_service, auth):
    svc, client = make_service("gifting")
    run(handlers.credit_purchase, CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="bo", coins=10), uow=svc.uow())
    assert (
        client.post(
            "/v1/gifts",
            json={"sender_id": "bo", "creator_id": "cat", "gift_id": "rose"},
            headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
        ).status_code
        == 201
    )
    health, stop = ProcessHealth(stall_after_s=60), threading.Event()
    relay = OutboxRelay(
        engine=svc.engine,
        table=svc.tables["outbox"],
        service="gifting",
        health=health,
        producer=RebuildingProducer(KafkaSettings("127.0.0.1:1"), client_id="t"),
        topic_name=lambda t: t,
    )
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: not health.ready().ok, timeout=60, message="the relay to report itself not ready")
        verdict = health.ready()
        assert (
            verdict.body["checks"]["loop"].startswith("failing")
            or verdict.body["checks"].get("broker") == "sends not acknowledged"
        )
        assert health.live().ok
    finally:
        stop.set()
        thread.join(timeout=60)
        relay.close()


def test_consumer_lag_is_what_the_group_has_not_committed_per_partition(kafka: KafkaSettings, broker):
    topic = kafka.topic("gift.sent.v1")
    producer = make_producer(kafka, client_id="test-lag")
    for i in range(5):  # one batch each: some brokers report the end offset per batch
        producer.send(topic, key=b"k", value=b"v%d" % i, partition=0)
        producer.flush(timeout=10)
    producer.close(timeout=10)
    group = f"lag-{uuid.uuid4().hex[:6]}"
    assert consumer_lag(kafka, group, ["gift.sent.v1"])[TopicPartition(topic, 0)] == 5  # nothing committed: all
    committer = KafkaConsumer(**client_options(kafka), group_id=group, enable_auto_commit=False)
    try:
        committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})
    finally:
        committer.close(autocommit=False)
    # The consumer process's monitor reads as its service's principal, which may describe only
    # its own group and the topics it consumes.
    monitor = LagMonitor(own_principal(broker, kafka, "payout", group), group=group, topics=["gift.sent.v1"])
    lag = monitor.refresh()
    assert lag[(topic, 0)] == 3
    assert lag[(topic, 1)] == 0 and lag[(topic, 2)] == 0
    assert metrics.CONSUMER_LAG.labels(group, topic, "0")._value.get() == 3


def own_principal(broker, admin: KafkaSettings, service: str, group: str) -> KafkaSettings:
    """`service`'s settings, held (on a broker with ACLs) to its grants on these topics and `group`."""
    if broker.secured:
        from coinsctl.kafka_acls import apply_acls, service_acls

        apply_acls(admin, service_acls(service, topic_prefix=admin.topic_prefix, group=group))
    return broker.settings(service, topic_prefix=admin.topic_prefix)
