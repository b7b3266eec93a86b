"""Spans of every process, made by the OpenTelemetry SDK, and W3C Trace Context
(https://www.w3.org/TR/trace-context/) between processes: an HTTP request (SERVER), the relay's
send of an event (PRODUCER), a consumer's processing of one (CONSUMER), a payout or reconciliation
attempt, a processor call (CLIENT). The running span is OpenTelemetry's current span (its
context, not one of ours), so an instrumentation a team adds (Flask, SQLAlchemy, requests) puts
its spans in the same trace, and the log lines (shared.observability.logs) carry its ids.

One TracerProvider per process (`configure`), made from the standard OTEL_* variables
(`from_environment`): OTEL_SERVICE_NAME (default coins-<service>-<process>),
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, and OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT: spans are
sent over OTLP/HTTP by a batch processor (a bounded queue that drops when full, bounded exports: a
dead collector never holds a request); without an endpoint, or with OTEL_TRACES_EXPORTER=none,
nothing is sent.

`traceparent` and `tracestate` are parsed by OpenTelemetry's propagator. A child keeps its
parent's trace id, sampled flag and tracestate, and names its parent. Nothing valid to continue
starts a new trace, or the one a bare trace id names (`X-Trace-Id`, messages sent before traceparent).
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared import __version__
from shared.credentials import deployment_environment
from shared.env import Env

SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL = (
    SpanKind.SERVER,
    SpanKind.CLIENT,
    SpanKind.PRODUCER,
    SpanKind.CONSUMER,
    SpanKind.INTERNAL,
)
SAMPLED = 0x01  # the one flag of version 00; the others are zeroed on the way through
MAX_TRACESTATE = 512  # what the spec asks every vendor to pass on; a longer one is cut to fit
_LONG_MEMBER = 128  # cut first, then members from the end
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
# A version-00 traceparent exactly as we write them: what most headers and every outbox row carry.
_TRACEPARENT_00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
# The propagator warns of every malformed header a client sends: theirs to fix, not ours to log.
logging.getLogger("opentelemetry").setLevel(logging.ERROR)
# Where a span we start goes in the OTel context: the id of its parent, for the log lines (an
# unsampled span records none), next to the span itself.
_PARENT = otel_context.create_key("coins.parent_span_id")
_tracer: trace.Tracer | None = None
_provider: trace.TracerProvider | None = None  # the one `configure` found or made
# The trace id a root span is to take (a bare trace id to continue), read by the id generator
# while `start` makes that one span.
WANTED_TRACE_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("wanted_trace_id", default=None)
# Bounds of the export when no OTEL_BSP_* / OTEL_EXPORTER_OTLP_TIMEOUT says otherwise.
_QUEUE_SIZE, _BATCH_SIZE, _DELAY_MS, _EXPORT_TIMEOUT_MS, _OTLP_TIMEOUT_S = 2048, 512, 2000, 5000, 3


class Span:
    """A span as log lines, headers and rows see it (ids, flags, tracestate, parent); `otel` is
    OpenTelemetry's: a recording SDK span, or a non-recording one (another process's, or of an
    unsampled trace)."""

    __slots__ = ("otel", "parent_id")

    def __init__(self, otel: trace.Span, parent_id: str | None = None):
        self.otel = otel
        self.parent_id = parent_id  # the span this one continues (remote: another process's)

    @property
    def _context(self) -> trace.SpanContext:
        return self.otel.get_span_context()

    @property
    def trace_id(self) -> str:  # 32 lowercase hex digits
        return trace.format_trace_id(self._context.trace_id)

    @property
    def span_id(self) -> str:  # 16 lowercase hex digits
        return trace.format_span_id(self._context.span_id)

    @property
    def flags(self) -> int:
        return int(self._context.trace_flags) & SAMPLED  # the SDK's "random trace id" flag is not version 00's

    def __eq__(self, other: object) -> bool:
        """The same span: the same trace and span ids."""
        if not isinstance(other, Span):
            return NotImplemented
        mine, theirs = self._context, other._context
        return (mine.trace_id, mine.span_id) == (theirs.trace_id, theirs.span_id)

    def __hash__(self) -> int:
        return hash((self._context.trace_id, self._context.span_id))

    @property
    def tracestate(self) -> str | None:
        state = self._context.trace_state
        return (state.to_header() or None) if state else None

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def headers(self) -> dict[str, str]:
        """`traceparent`, and `tracestate` if there is one: for a response, a request or a message."""
        state = self.tracestate
        return {"traceparent": self.traceparent, **({"tracestate": state} if state else {})}

    def set(self, **attributes) -> None:
        """Attributes by their semantic-convention names, dots as double underscores."""
        if self.otel.is_recording():
            self.otel.set_attributes({name.replace("__", "."): value for name, value in attributes.items()})

    def fail(self, description: str | None = None, exc: BaseException | None = None, *, error_type: str = "") -> None:
        """Status ERROR, and `error.type` (semantic conventions): `error_type` (an HTTP status, say),
        else the exception's class, else `_OTHER`."""
        if exc is not None:
            self.otel.record_exception(exc)
        self.set(error__type=error_type or (type(exc).__name__ if exc is not None else "_OTHER"))
        self.otel.set_status(Status(StatusCode.ERROR, description))

    def end(self) -> None:
        self.otel.end()


# -- the process's tracer provider ----------------------------------------------------------------
def configure(service: str = "", process: str = "") -> trace.TracerProvider:
    """The process's tracer provider: the global one if an SDK provider is set (by an earlier call,
    or by `opentelemetry-instrument`), else one made from the environment and set globally."""
    global _tracer, _provider
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        trace.set_tracer_provider(from_environment(service, process))
        current = trace.get_tracer_provider()
    _tracer, _provider = current.get_tracer("coins", __version__), current
    return current


class _Provider(TracerProvider):
    """The SDK's provider, told when anything reads its spans: until a span processor is added (an
    exporter, a test's recorder), `start` gives each span its ids, sampled flag and tracestate only."""

    read = False

    def add_span_processor(self, span_processor) -> None:
        super().add_span_processor(span_processor)
        self.read = True


class _Ids(RandomIdGenerator):
    """Random ids, but a root span takes the trace id it was asked to continue (WANTED_TRACE_ID)."""

    def generate_trace_id(self) -> int:
        return WANTED_TRACE_ID.get() or super().generate_trace_id()


def from_environment(service: str, process: str = "web") -> TracerProvider:
    """A tracer provider from the standard variables (see the module's docstring)."""
    env = Env()
    ours = Resource(
        {
            "service.name": f"coins-{service}-{process}" if service else "coins",
            "service.version": __version__,
            "deployment.environment": deployment_environment(),
            "service.namespace": "coins",
        }
    )
    # The SDK's defaults, then ours, then what OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say.
    resource = Resource.create({}).merge(ours).merge(OTELResourceDetector().detect())
    made = _Provider(resource=resource, id_generator=_Ids())
    exporter = _exporter(env)
    if exporter is not None:
        queue = env.int("OTEL_BSP_MAX_QUEUE_SIZE", _QUEUE_SIZE)
        made.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=queue,
                max_export_batch_size=min(env.int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", _BATCH_SIZE), queue),
                schedule_delay_millis=env.int("OTEL_BSP_SCHEDULE_DELAY", _DELAY_MS),
                export_timeout_millis=env.int("OTEL_BSP_EXPORT_TIMEOUT", _EXPORT_TIMEOUT_MS),
            )
        )
    return made


def _exporter(env: Env):
    """OTLP over HTTP when an endpoint is set and OTEL_TRACES_EXPORTER is unset or otlp; else None."""
    kind = env.str("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    endpoint = env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.optional("OTEL_EXPORTER_OTLP_ENDPOINT")
    if kind != "otlp" or endpoint is None:
        if kind not in ("otlp", "none"):
            logging.getLogger(__name__).warning("OTEL_TRACES_EXPORTER=%s not supported: spans not exported", kind)
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") is None:
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    # Seconds; a timeout the variables set, the SDK reads itself.
    told = env.optional("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or env.optional("OTEL_EXPORTER_OTLP_TIMEOUT")
    return OTLPSpanExporter(endpoint=endpoint, timeout=None if told else _OTLP_TIMEOUT_S)


def _get_tracer() -> trace.Tracer:
    if _tracer is None:  # a process that configured no logs (a test, a script): the defaults
        configure()
    return _tracer


# -- spans ----------------------------------------------------------------------------------------
def parse(traceparent: str | None, tracestate: str | None = None) -> Span | None:
    """The (remote) span a `traceparent` names, with its `tracestate` (cut to MAX_TRACESTATE); None
    if there is none or it is invalid: version ff, version 00 with anything after its flags, a
    field not in lowercase hex or of the wrong length, an all-zero trace or span id (later versions
    are read by their first four fields, as the spec says)."""
    if not traceparent:
        return None
    plain = None if tracestate else _TRACEPARENT_00.fullmatch(traceparent)
    if plain is not None:  # the common case, without the propagator's carrier and context (a relay does it per event)
        trace_id, span_id, flags = plain.groups()
        if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
            return None
        remote = trace.SpanContext(
            int(trace_id, 16), int(span_id, 16), True, trace.TraceFlags(int(flags, 16) & SAMPLED)
        )
        return Span(trace.NonRecordingSpan(remote))
    carrier = {"traceparent": traceparent, **({"tracestate": tracestate} if tracestate else {})}
    found = trace.get_current_span(_PROPAGATOR.extract(carrier)).get_span_context()
    if not found.is_valid:
        return None
    state = _cut(found.trace_state.to_header()) if found.trace_state else ""
    flags = trace.TraceFlags(found.trace_flags & SAMPLED)  # what version 00 does not define is zeroed
    remote = trace.SpanContext(
        found.trace_id, found.span_id, True, flags, trace.TraceState.from_header([state]) if state else None
    )
    return Span(trace.NonRecordingSpan(remote))


def start(
    name: str,
    *,
    kind: SpanKind = INTERNAL,
    parent: Span | None = None,
    trace_id: str | None = None,
    attributes: Mapping[str, object] | None = None,
    links: Iterable[Span] = (),
) -> Span:
    """A span started under `parent` (not made current: see `enter`, `running`); without one, the
    first span of trace `trace_id` if that is a valid trace id, else of a new trace."""
    tracer = _get_tracer()
    context = trace.set_span_in_context(parent.otel, otel_context.Context()) if parent else otel_context.Context()
    wanted = legacy_trace_id(trace_id) if parent is None else None
    token = WANTED_TRACE_ID.set(int(wanted, 16)) if wanted else None
    try:
        linked = [Link(link.otel.get_span_context()) for link in links]
        if getattr(_provider, "read", True):  # someone else's provider: assume its spans are read
            otel = tracer.start_span(name, context=context, kind=kind, attributes=attributes, links=linked)
        else:
            otel = _unread(tracer, name, context, kind, attributes, linked)
    finally:
        if token is not None:
            WANTED_TRACE_ID.reset(token)
    return Span(otel, parent.span_id if parent else None)


def _unread(tracer, name: str, context, kind: SpanKind, attributes, links: list[Link]) -> trace.Span:
    """The span the SDK's `start_span` would make, as the ids, sampled flag and tracestate it would
    carry and nothing it would record: with no span processor nothing reads a recorded span, and
    recording one costs (the relay's span per event was half its CPU: bench.pipeline, batches).
    Log lines, headers and outbox rows see the same trace as with an exporter."""
    parent = trace.get_current_span(context).get_span_context()
    parent = parent if parent.is_valid else None
    trace_id = parent.trace_id if parent else tracer.id_generator.generate_trace_id()
    sampling = tracer.sampler.should_sample(context, trace_id, name, kind, attributes, links)
    flags = trace.TraceFlags.SAMPLED if sampling.decision.is_sampled() else trace.TraceFlags.DEFAULT
    if parent.trace_flags.random_trace_id if parent else tracer.id_generator.is_trace_id_random():
        flags |= trace.TraceFlags.RANDOM_TRACE_ID
    ids = trace.SpanContext(
        trace_id,
        tracer.id_generator.generate_span_id(),
        is_remote=False,
        trace_flags=trace.TraceFlags(flags),
        trace_state=sampling.trace_state,
    )
    return trace.NonRecordingSpan(ids)


def child(parent: Span | None = None, *, trace_id: str | None = None, name: str = "span", **options) -> Span:
    """A new span under `parent`; without one, the first span of trace `trace_id` if that is a
    valid trace id, else of a new trace."""
    return start(name, parent=parent, trace_id=trace_id, **options)


def continued(
    traceparent: str | None, tracestate: str | None = None, *, trace_id: str | None = None, **options
) -> Span:
    """The span that continues what a request, a message or a stored job carried."""
    return child(parse(traceparent, tracestate), trace_id=trace_id, **options)


def legacy_trace_id(value: str | None) -> str | None:
    """A bare trace id (32 hex digits; a UUID's dashes are dropped), lowercased; None if invalid."""
    candidate = (value or "").replace("-", "").lower()
    return candidate if _TRACE_ID.fullmatch(candidate) and candidate != "0" * 32 else None


def current() -> Span | None:
    """The current span (OpenTelemetry's: ours, or an instrumentation's), None outside any."""
    otel = trace.get_current_span()
    found = otel.get_span_context()
    if not found.is_valid:
        return None
    parent = otel.parent if isinstance(otel, ReadableSpan) else None
    if parent is not None:
        return Span(otel, trace.format_span_id(parent.span_id))
    noted = otel_context.get_value(_PARENT)
    return Span(otel, noted[1] if noted and noted[0] == found.span_id else None)


def enter(span: Span) -> object:
    """Make `span` the current one until `leave` (for hooks that cannot wrap a block)."""
    context = trace.set_span_in_context(span.otel)
    return otel_context.attach(
        otel_context.set_value(_PARENT, (span.otel.get_span_context().span_id, span.parent_id), context)
    )


def leave(token: object) -> None:
    otel_context.detach(token)


@contextmanager
def running(span: Span) -> Iterator[Span]:
    """`span` current for the block, and ended with it (its status ERROR if the block raised)."""
    token = enter(span)
    try:
        yield span
    except BaseException as exc:
        span.fail(type(exc).__name__, exc)
        raise
    finally:
        leave(token)
        span.end()


def current_trace_id() -> str | None:
    """The current span's trace id (an outbox row's `trace_id`, a log line's), None outside any."""
    span = current()
    return span.trace_id if span else None


def carried() -> dict[str, str | None]:
    """The current span as a row stores it (an outbox row, a withdrawal, a purchase), so that what
    happens later, in another process, continues it: traceparent and tracestate."""
    span = current()
    return {"traceparent": span.traceparent if span else None, "tracestate": span.tracestate if span else None}


def _cut(tracestate: str) -> str:
    """The spec's truncation: members longer than 128 characters go first, then from the end."""
    members = [m for m in tracestate.split(",") if m]
    if len(",".join(members)) > MAX_TRACESTATE:
        members = [m for m in members if len(m) <= _LONG_MEMBER]
    while len(",".join(members)) > MAX_TRACESTATE:
        members.pop()
    return ",".join(members)


def of_message(record, *, group: str | None = None) -> Span:
    """A consumed Kafka message's processing span (CONSUMER): a child of its `traceparent` header,
    else (a message sent before there was one) the first span of the trace its `trace_id` header
    names, else of a new trace. Not yet current: see `running`."""
    headers = {key: value.decode(errors="replace") for key, value in record.headers or () if value is not None}
    topic = getattr(record, "topic", None)
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
    }
    for name, value in (
        ("messaging.destination.name", topic),
        ("messaging.destination.partition.id", _text(getattr(record, "partition", None))),
        ("messaging.kafka.offset", getattr(record, "offset", None)),
        ("messaging.message.id", headers.get("event_id")),
        ("messaging.consumer.group.name", group),
    ):
        if value is not None:
            attributes[name] = value
    return continued(
        headers.get("traceparent"),
        headers.get("tracestate"),
        trace_id=headers.get("trace_id"),
        name=f"process {topic}" if topic else "process",
        kind=CONSUMER,
        attributes=attributes,
    )


def _text(value) -> str | None:
    return None if value is None else str(value)
