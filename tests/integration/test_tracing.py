"""One trace from an HTTP request to what it causes later and elsewhere: the request's span, the
Kafka message the relay sends (its traceparent header), the consumer's log lines, the payout
worker's attempt at a withdrawal and the reconciler's at a purchase; each its own span, its
parent kept."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition

from services.gifting.entrypoints.consumer import event_handlers
from services.payout.entrypoints.payout_worker import run_once
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared.contracts import PURCHASE_COMPLETED
from shared.kafka.clients import client_options, make_consumer, make_producer
from shared.messaging.consumer import InboxConsumer
from shared.messaging.relay import OutboxRelay
from shared.observability.logs import ContextFilter, json_formatter
from tests.integration.conftest import purchases_age, rows
from tests.integration.test_payout_api import earn, register
from tests.support.processors import FakeCardProcessor
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
TRACE, CALLER_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{CALLER_SPAN}-01"


@contextmanager
def json_lines(logger: str):
    """The lines `logger` writes meanwhile, as the services write them (shared.observability.logs)."""
    stream, handler = io.StringIO(), logging.StreamHandler()
    handler.setStream(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    log = logging.getLogger(logger)
    log.addHandler(handler)
    level, log.level = log.level, logging.INFO

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    try:
        yield read
    finally:
        log.removeHandler(handler)
        log.level = level


def buy(client, auth, token="tok_visa", **headers):
    return client.post(
        "/v1/purchases",
        headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}, **headers),
        json={
            "user_id": "viewer",
            "country": "US",
            "birth_date": "1990-01-01",
            "package_id": "coins_350",
            "payment": {"method": "card", "token": token},
        },
    )


def request_span(response) -> str:
    """The span id of the request's own span, from the traceparent it answered with."""
    version, trace_id, span_id, flags = response.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE, "01") and span_id != CALLER_SPAN
    return span_id


def outbox_traces(svc) -> list[tuple[str | None, str | None]]:
    with svc.engine.connect() as conn:
        return conn.execute(sa.text("SELECT traceparent, tracestate FROM outbox ORDER BY id")).all()


def published(kafka, topic: str):
    consumer = KafkaConsumer(**client_options(kafka), enable_auto_commit=False, consumer_timeout_ms=15_000)
    consumer.assign([TopicPartition(kafka.topic(topic), p) for p in range(3)])
    consumer.seek_to_beginning()
    try:
        return next(iter(consumer))
    finally:
        consumer.close()


def test_a_requests_traceparent_goes_through_kafka_to_the_consumers_log_lines(make_service, kafka, auth_for):
    purchase, client = make_service("purchase")
    answer = buy(client, auth_for("purchase"), traceparent=TRACEPARENT, tracestate="rojo=00f067aa0ba902b7")
    assert answer.status_code == 201 and answer.headers["X-Trace-Id"] == TRACE
    assert answer.headers["tracestate"] == "rojo=00f067aa0ba902b7"  # passed through
    span = request_span(answer)
    assert outbox_traces(purchase) == [(answer.headers["traceparent"], "rojo=00f067aa0ba902b7")]

    producer = make_producer(kafka, client_id="test-relay")
    relay = OutboxRelay(
        engine=purchase.engine, table=purchase.tables["outbox"], producer=producer, topic_name=kafka.topic, service="p"
    )
    assert relay.publish(relay.fetch_batch()) == 1
    producer.close()
    relay.close()
    headers = {k: v.decode() for k, v in published(kafka, PURCHASE_COMPLETED.topic).headers}
    assert headers["traceparent"] == f"00-{TRACE}-{span}-01"  # the caller's trace, the request's span
    assert (headers["tracestate"], headers["trace_id"]) == ("rojo=00f067aa0ba902b7", TRACE)

    gifting, _ = make_service("gifting")
    with json_lines("shared.messaging.inbox") as lines:
        consume(gifting, kafka)
        [applied] = wait_until(lambda: [line for line in lines() if line["message"] == "event applied"])
    assert (applied["trace_id"], applied["parent_span_id"]) == (TRACE, span)  # the consumer's span: a child
    assert applied["span_id"] not in (span, CALLER_SPAN)


def consume(svc, kafka) -> None:
    """Run gifting's consumer until it has applied one event."""
    handlers = event_handlers(svc)
    consumer, resume = make_consumer(kafka, group_id="trace-test", topics=list(handlers), client_id="test-consumer")
    producer = make_producer(kafka, client_id="test-dlq")
    inbox = InboxConsumer(
        engine=svc.engine,
        inbox=svc.tables["inbox"],
        consumer=consumer,
        producer=producer,
        handlers=handlers,
        group="trace-test",
        service="gifting",
        topic_name=kafka.topic,
        resume=resume,
    )
    stop = threading.Event()
    thread = threading.Thread(target=inbox.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: rows(svc, "inbox") == 1, message="the event applied")
    finally:
        stop.set()
        thread.join(timeout=10)
        consumer.close(autocommit=False)
        producer.close(timeout=5)


def test_the_payout_worker_continues_the_trace_of_the_request_that_made_the_withdrawal(make_service, auth_for):
    svc, client = make_service("payout")
    auth = auth_for("payout")
    register(client, auth)
    earn(svc, "creator", 30_000)
    answer = client.post(
        "/v1/withdrawals",
        json={"creator_id": "creator", "amount_minor": 10_000},
        headers=auth(**{"Idempotency-Key": str(uuid.uuid4()), "traceparent": TRACEPARENT}),
    )
    assert answer.status_code == 201
    span = request_span(answer)
    with json_lines("services.payout.entrypoints.payout_worker") as lines:
        assert run_once(svc) == 1
    [sent] = [line for line in lines() if line["message"] == "withdrawal sent"]
    assert (sent["trace_id"], sent["parent_span_id"]) == (TRACE, span) and sent["span_id"] != span
    assert outbox_traces(svc) == [(f"00-{TRACE}-{sent['span_id']}-01", None)]  # withdrawal.completed: same trace


def test_the_reconciler_continues_the_trace_of_the_request_that_made_the_purchase(make_service, auth_for):
    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    answer = buy(client, auth_for("purchase"), token="tok_timeout", traceparent=TRACEPARENT)
    assert answer.status_code == 503 and outbox_traces(svc) == []  # charged, the outcome unknown
    span = request_span(answer)
    with json_lines("services.purchase.service_layer.reconcile") as lines:
        purchases_age(svc, timedelta(hours=1))
        assert reconcile_purchases(uow=svc.uow(), processor=processor, schedule=svc.settings.schedule) == 1
    [reconciled] = [line for line in lines() if line["message"] == "purchase reconciled"]
    assert (reconciled["trace_id"], reconciled["parent_span_id"]) == (TRACE, span)
    assert outbox_traces(svc) == [(f"00-{TRACE}-{reconciled['span_id']}-01", None)]
