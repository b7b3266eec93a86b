"""The spans of one gift, as a collector receives them (the SDK's in-memory exporter): the request
(SERVER), the relay's send (PRODUCER) and the payout consumer's processing (CONSUMER), one trace;
an instrumentation's spans (SQLAlchemy's, Flask's) in it; a 5xx answer's span marked an error."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.trace import SpanKind, StatusCode

from services.payout.entrypoints.consumer import event_handlers
from shared.contracts import GIFT_SENT
from shared.kafka.clients import make_consumer, make_producer
from shared.messaging.consumer import InboxConsumer
from shared.messaging.relay import OutboxRelay
from tests.integration.conftest import rows
from tests.integration.test_gifting_api import fund
from tests.integration.test_tracing import buy, json_lines
from tests.support.spans import hex_id, of_trace, parent_of, recorder
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def spans():
    return recorder()


def send_gift(client, auth, **headers):
    return client.post(
        "/v1/gifts",
        json={"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose", "quantity": 3},
        headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}, **headers),
    )


def relay_all(svc, kafka) -> None:
    producer = make_producer(kafka, client_id="test-relay")
    relay = OutboxRelay(
        engine=svc.engine, table=svc.tables["outbox"], producer=producer, topic_name=kafka.topic, service="gifting"
    )
    try:
        assert relay.publish(relay.fetch_batch()) == 1
    finally:
        producer.close()
        relay.close()


def consume_one(svc, kafka, group: str) -> None:
    """Run the service's consumer until its inbox holds one event."""
    consumer, resume = make_consumer(kafka, group_id=group, topics=[GIFT_SENT.topic], client_id="test-consumer")
    producer = make_producer(kafka, client_id="test-dlq")
    inbox = InboxConsumer(
        engine=svc.engine,
        inbox=svc.tables["inbox"],
        consumer=consumer,
        producer=producer,
        handlers=event_handlers(svc),
        group=group,
        service="payout",
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


def test_one_gift_is_one_trace_from_the_request_through_kafka_to_the_creators_diamonds(
    make_service, kafka, auth_for, spans
):
    gifting, client = make_service("gifting")
    payout, _ = make_service("payout")
    fund(gifting, "viewer", 100)
    answer = send_gift(client, auth_for("gifting"))
    assert answer.status_code == 201
    trace_id = answer.headers["X-Trace-Id"]
    relay_all(gifting, kafka)
    with json_lines("shared.messaging.inbox") as lines:
        consume_one(payout, kafka, group="span-test")
        [applied] = wait_until(lambda: [line for line in lines() if line["message"] == "event applied"])

    by_kind = {}
    for span in of_trace(spans, trace_id):
        by_kind.setdefault(span.kind, []).append(span)
    assert set(by_kind) == {SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER}  # nothing else, nothing apart
    [[server], [send], [process]] = by_kind[SpanKind.SERVER], by_kind[SpanKind.PRODUCER], by_kind[SpanKind.CONSUMER]
    topic = kafka.topic(GIFT_SENT.topic)

    assert server.parent is None and server.name == "POST /v1/gifts"  # no traceparent sent: the trace starts here
    assert answer.headers["traceparent"] == f"00-{trace_id}-{hex_id(server.context.span_id)}-01"
    assert {k: server.attributes[k] for k in ("http.request.method", "http.route", "http.response.status_code")} == {
        "http.request.method": "POST",
        "http.route": "/v1/gifts",
        "http.response.status_code": 201,
    }
    assert server.status.status_code == StatusCode.UNSET

    event_id = send.attributes["messaging.message.id"]
    assert parent_of(send) == hex_id(server.context.span_id) and send.name == f"send {topic}"
    assert (send.attributes["messaging.system"], send.attributes["messaging.destination.name"]) == ("kafka", topic)
    assert "messaging.destination.partition.id" in send.attributes  # from the broker's ack

    # The message carries the request span's traceparent (as the outbox row stores it): the consumer is its child.
    assert parent_of(process) == hex_id(server.context.span_id) and process.name == f"process {topic}"
    assert {k: process.attributes[k] for k in ("messaging.system", "messaging.destination.name")} == {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
    }
    assert (process.attributes["messaging.message.id"], process.attributes["messaging.consumer.group.name"]) == (
        event_id,
        "span-test",
    )
    assert all(s.end_time >= s.start_time for s in (server, send, process))
    # The consumer's log line names the span the collector received.
    assert (applied["trace_id"], applied["span_id"], applied["parent_span_id"]) == (
        trace_id,
        hex_id(process.context.span_id),
        hex_id(server.context.span_id),
    )
    assert server.resource.attributes["service.version"] and "service.name" in server.resource.attributes


def test_an_instrumentations_spans_join_the_requests_trace(make_service, auth_for, spans):
    """opentelemetry-instrumentation-sqlalchemy, as a team would add it: its statements are children
    of the request's span, in the caller's trace (it reads OpenTelemetry's current span)."""
    gifting, client = make_service("gifting")
    fund(gifting, "viewer", 100)
    caller_trace = uuid.uuid4().hex
    instrumentor = SQLAlchemyInstrumentor()
    # Its declared range ends below SQLAlchemy 2.1; what it hooks (engine events) is unchanged there.
    instrumentor.instrument(engine=gifting.engine, skip_dep_check=True)
    try:
        answer = send_gift(client, auth_for("gifting"), traceparent=f"00-{caller_trace}-{'1' * 16}-01")
    finally:
        instrumentor.uninstrument()
    assert answer.status_code == 201
    trace = of_trace(spans, caller_trace)
    [server] = [s for s in trace if s.kind == SpanKind.SERVER]
    assert parent_of(server) == "1" * 16
    statements = [s for s in trace if s.kind == SpanKind.CLIENT]
    assert statements and all(parent_of(s) == hex_id(server.context.span_id) for s in statements)
    assert any(
        "postgresql" in str(s.attributes.get("db.system", s.attributes.get("db.system.name"))) for s in statements
    )


def test_flasks_instrumentation_added_by_a_team_keeps_one_trace(make_service, auth_for, spans):
    """opentelemetry-instrumentation-flask on a service's app: its SERVER span continues the
    caller's traceparent, ours is its INTERNAL child, and the gift's outbox row (so the relay, the
    consumer and the processor calls after it) carries our span's context: one trace, not two."""
    gifting, client = make_service("gifting")
    fund(gifting, "viewer", 100)
    caller_trace, caller_span = uuid.uuid4().hex, "2" * 16
    FlaskInstrumentor().instrument_app(client.application)
    try:
        answer = send_gift(client, auth_for("gifting"), traceparent=f"00-{caller_trace}-{caller_span}-01")
    finally:
        FlaskInstrumentor().uninstrument_app(client.application)
    assert answer.status_code == 201
    trace = of_trace(spans, caller_trace)
    [flask] = [s for s in trace if s.kind == SpanKind.SERVER]
    [ours] = [s for s in trace if s.name == "POST /v1/gifts" and s.kind == SpanKind.INTERNAL]
    assert parent_of(flask) == caller_span and parent_of(ours) == hex_id(flask.context.span_id)
    assert len({s.context.trace_id for s in spans.get_finished_spans()}) == 1  # no second, disconnected trace
    # the answer names one of the request's spans (which one is the instrumentation's doing), in the caller's trace
    assert answer.headers["traceparent"] in {f"00-{caller_trace}-{hex_id(s.context.span_id)}-01" for s in (flask, ours)}
    with gifting.engine.connect() as conn:
        [stored] = conn.execute(sa.text("SELECT traceparent FROM outbox")).scalars()
    assert stored == f"00-{caller_trace}-{hex_id(ours.context.span_id)}-01"


def test_a_5xx_answer_is_an_error_span(make_service, auth_for, spans):
    svc, client = make_service("purchase")
    answer = buy(client, auth_for("purchase"), token="tok_timeout")  # charged, the outcome unknown: 503
    assert answer.status_code == 503
    [server] = [s for s in of_trace(spans, answer.headers["X-Trace-Id"]) if s.kind == SpanKind.SERVER]
    assert server.status.status_code == StatusCode.ERROR
    assert (server.attributes["http.response.status_code"], server.attributes["error.type"]) == (503, "503")
