"""The process's tracer provider as the OTEL_* variables configure it (resource, exporter or none),
a dead collector that never slows a span's end, and a processor call's span and traceparent as
the sandbox receives them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import request
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from werkzeug.serving import make_server

from services.payout.adapters.processor import SandboxPayoutProcessor
from shared import __version__
from shared.observability import tracing
from shared.outbound import OutboundSettings
from tests.support.spans import hex_id, parent_of, recorder

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
OTEL_VARIABLES = (
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "COINS_ENV",
)


@pytest.fixture
def environ(monkeypatch):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def processors(provider) -> tuple:
    return provider._active_span_processor._span_processors


def test_a_provider_names_the_service_its_version_and_environment_and_exports_nothing_without_an_endpoint(environ):
    environ.setenv("COINS_ENV", "test")
    made = tracing.from_environment("gifting", "web")
    attributes = made.resource.attributes
    assert (attributes["service.name"], attributes["service.version"], attributes["deployment.environment"]) == (
        "coins-gifting-web",
        __version__,
        "test",
    )
    assert processors(made) == ()  # spans are made (ids for the logs and headers), none is sent
    environ.setenv("OTEL_SERVICE_NAME", "gifting-eu")
    environ.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,team=coins")
    environ.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    environ.setenv("OTEL_TRACES_EXPORTER", "none")
    made = tracing.from_environment("gifting", "relay")
    attributes = made.resource.attributes
    assert (attributes["service.name"], attributes["deployment.environment"], attributes["team"]) == (
        "gifting-eu",
        "staging",
        "coins",
    )
    assert processors(made) == ()  # OTEL_TRACES_EXPORTER=none wins over an endpoint


def test_an_endpoint_exports_over_otlp_http_through_a_bounded_batch(environ):
    environ.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    [batch] = processors(tracing.from_environment("payout", "worker"))
    assert isinstance(batch, BatchSpanProcessor)
    assert batch._batch_processor._exporter._endpoint == "http://collector:4318/v1/traces"
    assert batch._batch_processor._queue.maxlen == 2048
    environ.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo:4318/otlp/v1/traces")
    [batch] = processors(tracing.from_environment("payout", "worker"))
    assert batch._batch_processor._exporter._endpoint == "http://tempo:4318/otlp/v1/traces"  # taken as it is


class Collector(BaseHTTPRequestHandler):
    """An OTLP receiver that holds every export until `release` is set."""

    arrived = threading.Event()
    release = threading.Event()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).arrived.set()
        type(self).release.wait(120)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_collector_that_does_not_answer_never_holds_a_span_nor_grows_the_queue(environ):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environ.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    environ.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "600")  # the export hangs for as long as the test holds it
    environ.setenv("OTEL_BSP_SCHEDULE_DELAY", "1")
    environ.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100")
    made = tracing.from_environment("gifting", "web")
    tracer = made.get_tracer("test")
    [batch] = processors(made)
    try:
        tracer.start_span("first").end()
        assert Collector.arrived.wait(30), "the exporter never reached the collector"
        ended = threading.Event()

        def requests_meanwhile():
            for i in range(5000):
                with tracer.start_as_current_span(f"request {i}", kind=SpanKind.SERVER):
                    pass
            ended.set()

        threading.Thread(target=requests_meanwhile, daemon=True).start()
        # Every span ends while the one export is still held: ending never waits for the collector.
        assert ended.wait(60) and not Collector.release.is_set()
        assert len(batch._batch_processor._queue) <= 100  # the rest dropped, not queued
    finally:
        Collector.release.set()
        made.shutdown()  # the held export answered: shutting down is quick
        server.shutdown()
        server.server_close()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """The sandbox payout processor on a port, and the trace headers each of its requests carried."""
    from sandboxes.payout import create_app

    monkeypatch.setenv("PAYOUT_SANDBOX_DB", str(tmp_path / "payout.db"))
    app, received = create_app(), []
    app.before_request(lambda: received.append((request.headers.get("traceparent"), request.headers.get("tracestate"))))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


def test_a_processor_call_is_a_client_span_whose_traceparent_reaches_the_sandbox(sandbox):
    url, received = sandbox
    spans = recorder()
    processor = SandboxPayoutProcessor(OutboundSettings(name="sandbox", url=url, attempts=2, backoff_ms=1))
    worker = tracing.continued(f"00-{TRACE}-{SPAN}-01", "vendor=v", name="payout withdrawal")
    with tracing.running(worker):
        # "flaky": the sandbox answers 503 to the first call, pays on the retry
        result = processor.send(payout_id="p-1", net_minor=900, currency="USD", method="paypal", account="flaky-1")
    assert result.outcome == "paid"
    calls = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert [s.name for s in calls] == ["POST", "POST"]
    assert all(parent_of(s) == worker.span_id and f"{s.context.trace_id:032x}" == TRACE for s in calls)
    # Each attempt's own span is what the sandbox was told, with the caller's tracestate.
    assert received == [(f"00-{TRACE}-{hex_id(s.context.span_id)}-01", "vendor=v") for s in calls]
    first, retry = calls
    assert (first.status.status_code, first.attributes["http.response.status_code"]) == (StatusCode.ERROR, 503)
    assert (retry.status.status_code, retry.attributes["http.response.status_code"]) == (StatusCode.UNSET, 200)
    assert retry.attributes["http.request.resend_count"] == 1 and "http.request.resend_count" not in first.attributes
    assert first.attributes["url.full"] == f"{url}/v1/payouts" and first.attributes["server.address"] == "127.0.0.1"


def test_an_unreachable_processor_is_an_error_span(environ):
    spans = recorder()
    processor = SandboxPayoutProcessor(
        OutboundSettings(name="sandbox", url="http://127.0.0.1:1", attempts=1, timeout_ms=500)
    )
    assert processor.lookup(payout_id="p-1").outcome == "unknown"
    [call] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert call.parent is None  # no span around it: the call starts a trace
    assert (call.status.status_code, call.attributes["error.type"]) == (StatusCode.ERROR, "ConnectionError")


def test_a_failed_span_names_its_error_type_from_what_it_is_given(environ):
    spans = recorder()
    with pytest.raises(TimeoutError), tracing.running(tracing.start("raised")):
        raise TimeoutError
    for name, failed in (("status", {"error_type": "503"}), ("bare", {})):
        span = tracing.start(name)
        span.fail(**failed)
        span.end()
    got = {s.name: (s.status.status_code, s.attributes["error.type"]) for s in spans.get_finished_spans()}
    assert got == {
        "raised": (StatusCode.ERROR, "TimeoutError"),
        "status": (StatusCode.ERROR, "503"),
        "bare": (StatusCode.ERROR, "_OTHER"),
    }


@pytest.mark.parametrize("read", [True, False], ids=["recorded", "unread"])
def test_a_span_nothing_reads_carries_the_ids_sampling_and_tracestate_a_recorded_one_would(monkeypatch, read):
    """Without a span processor nothing reads a span, so none is recorded (tracing._unread): what
    log lines, headers and rows see of it is what the SDK's span would have carried."""
    monkeypatch.setattr(tracing.configure(), "read", read, raising=False)
    sampled = tracing.continued(f"00-{TRACE}-{SPAN}-01", "vendor=x")
    assert sampled.otel.is_recording() is read
    assert (sampled.trace_id, sampled.parent_id, sampled.flags, sampled.tracestate) == (TRACE, SPAN, 1, "vendor=x")
    assert sampled.span_id not in (SPAN, "0" * 16)
    unsampled = tracing.continued(f"00-{TRACE}-{SPAN}-00")
    assert (unsampled.trace_id, unsampled.flags, unsampled.otel.is_recording()) == (TRACE, 0, False)
    legacy = tracing.continued(None, trace_id=TRACE)  # a bare trace id names the trace of a root span
    assert (legacy.trace_id, legacy.parent_id, legacy.flags) == (TRACE, None, 1)
    root = tracing.start("root")
    below = tracing.child(root, name="below")
    assert (below.trace_id, below.parent_id, below.flags) == (root.trace_id, root.span_id, 1)
    assert root.trace_id != TRACE and below.span_id != root.span_id
    token = tracing.enter(below)
    try:
        assert tracing.current() == below and tracing.current().parent_id == root.span_id  # what log lines read
    finally:
        tracing.leave(token)
    for span in (sampled, unsampled, legacy, below, root):
        span.set(anything="ok")
        span.end()


def test_spans_are_recorded_once_a_processor_reads_them():
    provider = tracing._Provider()
    assert provider.read is False
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert provider.read is True
    provider.shutdown()
