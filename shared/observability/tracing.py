"""W3C Trace Context (https://www.w3.org/TR/trace-context/) in every process: the span that is
running (an HTTP request, a consumed message, a payout or reconciliation attempt) in a
contextvar, for the log lines (shared.observability.logs), the outbox rows and the jobs that outlive a request.

`traceparent` and `tracestate` are parsed by OpenTelemetry's propagator (its API package only:
no SDK, nothing recorded or exported but the log lines, which carry trace_id, span_id and
parent_span_id). Each span has a fresh span id; a child keeps its parent's trace id, sampled
flag and tracestate, and names its parent. Nothing valid to continue starts a new trace.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SAMPLED = 0x01  # the one flag of version 00; the others are zeroed on the way through
MAX_TRACESTATE = 512  # what the spec asks every vendor to pass on; a longer one is cut to fit
_LONG_MEMBER = 128  # cut first, then members from the end
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
# The propagator warns of every malformed header a client sends: theirs to fix, not ours to log.
logging.getLogger("opentelemetry").setLevel(logging.ERROR)
_current: contextvars.ContextVar[Span | None] = contextvars.ContextVar("span", default=None)


@dataclass(frozen=True)
class Span:
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    parent_id: str | None = None  # the span this one continues (remote: another process's)
    flags: int = SAMPLED
    tracestate: str | None = None

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def headers(self) -> dict[str, str]:
        """`traceparent`, and `tracestate` if there is one: for a response or a message."""
        return {"traceparent": self.traceparent, **({"tracestate": self.tracestate} if self.tracestate else {})}


def parse(traceparent: str | None, tracestate: str | None = None) -> Span | None:
    """The span a `traceparent` names, with its `tracestate` (cut to MAX_TRACESTATE); None if there
    is none or it is invalid: version ff, version 00 with anything after its flags, a field not in
    lowercase hex or of the wrong length, an all-zero trace or span id (later versions are read by
    their first four fields, as the spec says)."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent, **({"tracestate": tracestate} if tracestate else {})}
    found = trace.get_current_span(_PROPAGATOR.extract(carrier)).get_span_context()
    if not found.is_valid:
        return None
    state = _cut(found.trace_state.to_header()) if found.trace_state else ""
    trace_id, span_id = trace.format_trace_id(found.trace_id), trace.format_span_id(found.span_id)
    return Span(trace_id, span_id, None, int(found.trace_flags), state or None)


def child(parent: Span | None = None, *, trace_id: str | None = None) -> Span:
    """A new span under `parent`; without one, the first span of trace `trace_id` if that is a
    valid trace id (the bare ids of `X-Trace-Id` and of messages sent before traceparent), else of
    a new trace."""
    if parent is not None:
        return Span(parent.trace_id, _new_id(64), parent.span_id, parent.flags & SAMPLED, parent.tracestate)
    return Span(legacy_trace_id(trace_id) or _new_id(128), _new_id(64))


def continued(traceparent: str | None, tracestate: str | None = None, *, trace_id: str | None = None) -> Span:
    """The span that continues what a request, a message or a stored job carried."""
    return child(parse(traceparent, tracestate), trace_id=trace_id)


def legacy_trace_id(value: str | None) -> str | None:
    """A bare trace id (32 hex digits; a UUID's dashes are dropped), lowercased; None if invalid."""
    candidate = (value or "").replace("-", "").lower()
    return candidate if _TRACE_ID.fullmatch(candidate) and candidate != "0" * 32 else None


def current() -> Span | None:
    return _current.get()


def enter(span: Span) -> contextvars.Token:
    """Make `span` the current one until `leave` (for hooks that cannot wrap a block)."""
    return _current.set(span)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def running(span: Span) -> Iterator[Span]:
    token = enter(span)
    try:
        yield span
    finally:
        leave(token)


def carried() -> dict[str, str | None]:
    """The current span as a row stores it (an outbox row, a withdrawal, a purchase), so that what
    happens later, in another process, continues it: traceparent and tracestate."""
    span = _current.get()
    return {"traceparent": span.traceparent if span else None, "tracestate": span.tracestate if span else None}


def _new_id(bits: int) -> str:
    value = 0
    while not value:  # all zeros is the one invalid id
        value = random.getrandbits(bits)
    return f"{value:0{bits // 4}x}"


def _cut(tracestate: str) -> str:
    """The spec's truncation: members longer than 128 characters go first, then from the end."""
    members = [m for m in tracestate.split(",") if m]
    if len(",".join(members)) > MAX_TRACESTATE:
        members = [m for m in members if len(m) <= _LONG_MEMBER]
    while len(",".join(members)) > MAX_TRACESTATE:
        members.pop()
    return ",".join(members)


def of_message(record) -> Span:
    """A consumed Kafka message's span: a child of its `traceparent` header, else (a message sent
    before there was one) the first span of the trace its `trace_id` header names, else of a new trace."""
    headers = {key: value.decode(errors="replace") for key, value in record.headers or () if value is not None}
    return continued(headers.get("traceparent"), headers.get("tracestate"), trace_id=headers.get("trace_id"))
