"""The platform's processes export their spans over OTLP/HTTP to a collector (here an OTLP
receiver the test runs): one gift is one trace across gunicorn, the relay and the payout
consumer, each process under its own service name; a purchase's card charge is a CLIENT span."""

from __future__ import annotations

import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from coinsctl.stack import SANDBOXES, SERVICES, Stack
from tests.support.broker import free_port
from tests.support.stories import Api, buy, earnings, send_gift, spendable, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


class Receiver(BaseHTTPRequestHandler):
    """POST /v1/traces: every span received, as (service.name, span)."""

    received: list[tuple[str, ProtoSpan]] = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/traces":
            export = ExportTraceServiceRequest.FromString(body)
            with self.lock:
                for resource_spans in export.resource_spans:
                    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                    for scope in resource_spans.scope_spans:
                        self.received.extend((attributes["service.name"], span) for span in scope.spans)
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def collector():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def traced_stack(collector, broker, tmp_path_factory):
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")},
        "KAFKA_TOPIC_PREFIX": f"otlp{uuid.uuid4().hex[:6]}.",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_PARTITIONS": "3",
        "GUNICORN_WORKERS": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    running = Stack(
        var_dir=tmp_path_factory.mktemp("stack-otlp"),
        ports={s: free_port() for s in SERVICES},
        env=env,
        broker=broker,
        restart=False,
        sandbox_ports={n: free_port() for n in SANDBOXES},
    )
    try:
        running.start()
        running.wait_ready(timeout_s=120)
        yield running
    finally:
        running.stop()


def of_trace(trace_id: str) -> list[tuple[str, ProtoSpan]]:
    with Receiver.lock:
        return [(service, span) for service, span in Receiver.received if span.trace_id.hex() == trace_id]


def test_one_gifts_trace_reaches_the_collector_from_every_process_it_went_through(traced_stack, auth):
    api = Api(traced_stack, auth)
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700, timeout=90)
    answer = send_gift(api, viewer, creator, "rose", quantity=3)
    assert answer.status_code == 201
    trace_id = answer.headers["X-Trace-Id"]
    wait_until(lambda: earnings(api, creator)["total"] == 3, timeout=90, message="the gift credited")
    kinds = {
        ("coins-gifting-web", ProtoSpan.SPAN_KIND_SERVER),
        ("coins-gifting-relay", ProtoSpan.SPAN_KIND_PRODUCER),
        ("coins-payout-consumer", ProtoSpan.SPAN_KIND_CONSUMER),
    }
    wait_until(
        lambda: kinds <= {(service, span.kind) for service, span in of_trace(trace_id)},
        timeout=60,
        message="the gift's spans exported by gunicorn, the relay and the consumer",
    )
    spans = {(service, span.kind): span for service, span in of_trace(trace_id) if (service, span.kind) in kinds}
    server = spans[("coins-gifting-web", ProtoSpan.SPAN_KIND_SERVER)]
    assert server.name == "POST /v1/gifts" and server.parent_span_id == b""
    assert answer.headers["traceparent"] == f"00-{trace_id}-{server.span_id.hex()}-01"
    for kind in (ProtoSpan.SPAN_KIND_PRODUCER, ProtoSpan.SPAN_KIND_CONSUMER):
        span = spans[next(k for k in kinds if k[1] == kind)]
        assert span.parent_span_id == server.span_id  # the request's span, carried by the row and the message
    # The purchase's charge: a CLIENT span of purchase's web process, under its request's span.
    with Receiver.lock:
        charges = [
            s for service, s in Receiver.received if service == "coins-purchase-web" and s.kind == s.SPAN_KIND_CLIENT
        ]
    assert charges and all(c.parent_span_id for c in charges)
