"""W3C Trace Context without I/O: what a traceparent parses to, what is refused, the child span
each process makes, what a row stores, the Kafka headers written and read, the log fields."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest

from shared.contracts import PURCHASE_COMPLETED
from shared.messaging.relay import message_headers
from shared.messaging.uow import Outbox
from shared.observability import tracing
from shared.observability.logs import ContextFilter, json_formatter

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
PARENT = f"00-{TRACE}-{SPAN}-01"


def test_a_traceparent_parses_to_its_trace_span_and_flags_with_its_tracestate():
    span = tracing.parse(PARENT, "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7")
    assert (span.trace_id, span.span_id, span.parent_id, span.flags) == (TRACE, SPAN, None, 1)
    assert span.tracestate == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    assert span.traceparent == PARENT
    assert tracing.parse(f"00-{TRACE}-{SPAN}-00").flags == 0
    assert tracing.parse(PARENT, "not a list member").tracestate is None  # a bad tracestate is dropped, not the parent


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        f"00-{TRACE.upper()}-{SPAN}-01",  # lowercase hex only
        f"00-{TRACE}-{SPAN.upper()}-01",
        f"00-{'0' * 32}-{SPAN}-01",  # all-zero ids are invalid
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{SPAN}-01",  # version ff is forbidden
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE[:-1]}-{SPAN}-01",  # wrong lengths
        f"00-{TRACE}-{SPAN}0-01",
        f"00-{TRACE}-{SPAN}-1",
        f"0-{TRACE}-{SPAN}-01",
        f"00-{TRACE}-{SPAN[:-1]}g-01",  # not hex
        f"00_{TRACE}_{SPAN}_01",
        f"00-{TRACE}-{SPAN}-01-" + "x" * 600,  # longer than any traceparent may be
    ],
)
def test_an_invalid_traceparent_names_no_parent(header):
    assert tracing.parse(header) is None
    span = tracing.continued(header)
    assert span.parent_id is None and span.trace_id != TRACE  # a new trace


def test_a_later_version_is_read_by_its_first_four_fields():
    span = tracing.parse(f"cc-{TRACE}-{SPAN}-01-what-the-future-adds")
    assert (span.trace_id, span.span_id) == (TRACE, SPAN)


def test_a_child_keeps_the_trace_the_sampled_flag_and_tracestate_and_names_its_parent():
    parent = tracing.parse(f"00-{TRACE}-{SPAN}-ff", "vendor=x")
    child = tracing.child(parent)
    assert (child.trace_id, child.parent_id, child.tracestate) == (TRACE, SPAN, "vendor=x")
    assert child.span_id != SPAN and len(child.span_id) == 16 and int(child.span_id, 16)
    assert child.flags == 0x01  # flags version 00 does not define are zeroed
    assert child.traceparent == f"00-{TRACE}-{child.span_id}-01"
    assert child.headers() == {"traceparent": child.traceparent, "tracestate": "vendor=x"}
    assert tracing.child(tracing.parse(f"00-{TRACE}-{SPAN}-00")).flags == 0  # not sampled stays so


def test_without_a_parent_a_span_starts_a_new_trace_or_the_one_a_bare_trace_id_names():
    spans = [tracing.continued(None) for _ in range(50)]
    assert len({s.trace_id for s in spans}) == 50 and len({s.span_id for s in spans}) == 50
    assert all(len(s.trace_id) == 32 and s.parent_id is None and s.flags == 1 for s in spans)
    assert spans[0].headers() == {"traceparent": spans[0].traceparent}  # no tracestate of its own
    assert tracing.continued(None, trace_id=TRACE.upper()).trace_id == TRACE
    assert tracing.continued(None, trace_id="6ba7b810-9dad-11d1-80b4-00c04fd430c8").trace_id == (
        "6ba7b8109dad11d180b400c04fd430c8"  # a UUID, as X-Trace-Id often is
    )
    for bad in ("abc", "0" * 32, "z" * 32, TRACE + "00"):
        assert tracing.continued(None, trace_id=bad).trace_id != bad
    assert tracing.continued(PARENT, trace_id="6ba7b8109dad11d180b400c04fd430c8").trace_id == TRACE  # parent first


def test_a_long_tracestate_is_cut_as_the_spec_says():
    long_member = "big=" + "v" * 200
    members = [f"k{i}=" + "v" * 40 for i in range(15)]  # 15 x 44 characters: over 512 with the commas
    span = tracing.parse(PARENT, ",".join(["a=1", long_member, *members]))
    kept = span.tracestate.split(",")
    assert len(span.tracestate) <= tracing.MAX_TRACESTATE and long_member not in kept  # the long one first
    assert kept[0] == "a=1" and kept[1:] == members[: len(kept) - 1]  # then from the end
    short = ",".join(["a=1", long_member])
    assert tracing.parse(PARENT, short).tracestate == short  # within 512: untouched


def test_the_current_span_is_what_a_row_stores_and_running_restores_the_one_before():
    assert tracing.current() is None and tracing.carried() == {"traceparent": None, "tracestate": None}
    outer = tracing.continued(PARENT, "v=1")
    with tracing.running(outer):
        assert tracing.carried() == {"traceparent": outer.traceparent, "tracestate": "v=1"}
        with tracing.running(tracing.child(outer)) as inner:
            assert tracing.current() == inner and inner.parent_id == outer.span_id
        assert tracing.current() == outer and tracing.current() != inner
    assert tracing.current() is None


def test_an_outbox_row_carries_the_span_that_wrote_it_and_its_message_the_headers():
    data = {
        "purchase_id": "p1",
        "user_id": "u",
        "coins": 70,
        "amount_minor": 99,
        "currency": "USD",
        "country": "US",
    }
    outbox = Outbox(None, None, "purchase")
    assert {k: outbox.row(PURCHASE_COMPLETED, data)[k] for k in ("trace_id", "traceparent", "tracestate")} == {
        "trace_id": None,
        "traceparent": None,
        "tracestate": None,
    }
    with tracing.running(tracing.continued(PARENT, "v=1")) as span:
        row = outbox.row(PURCHASE_COMPLETED, data)
    assert (row["trace_id"], row["traceparent"], row["tracestate"]) == (TRACE, span.traceparent, "v=1")
    headers = dict(message_headers("e1", "purchase.completed", row["trace_id"], row["traceparent"], row["tracestate"]))
    assert headers == {
        "event_id": b"e1",
        "type": b"purchase.completed",
        "traceparent": span.traceparent.encode(),
        "tracestate": b"v=1",
        "trace_id": TRACE.encode(),
    }
    assert dict(message_headers("e1", "t", None)) == {"event_id": b"e1", "type": b"t"}


def record(**headers) -> SimpleNamespace:
    return SimpleNamespace(headers=[(k, v.encode()) for k, v in headers.items()])


def test_a_consumed_message_continues_its_traceparent_else_its_old_trace_id_else_starts_a_trace():
    sent = tracing.continued(PARENT, "v=1")
    span = tracing.of_message(record(traceparent=sent.traceparent, tracestate="v=1", trace_id="f" * 32))
    assert (span.trace_id, span.parent_id, span.tracestate) == (TRACE, sent.span_id, "v=1")
    assert span.span_id not in (sent.span_id, SPAN)
    old = tracing.of_message(record(trace_id=TRACE))  # sent before traceparent: still in the topics
    assert (old.trace_id, old.parent_id) == (TRACE, None)
    fresh = tracing.of_message(SimpleNamespace(headers=None))
    assert fresh.trace_id != TRACE and fresh.parent_id is None
    assert tracing.of_message(record(traceparent="garbage", trace_id=TRACE)).trace_id == TRACE


def test_every_log_line_carries_the_trace_id_span_id_and_parent_span_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    log = logging.getLogger("tests.tracing")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("outside")
        with tracing.running(tracing.continued(PARENT)) as span:
            log.warning("inside", extra={"span_token": "s3cret"})
    finally:
        log.removeHandler(handler)
    outside, inside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (outside["trace_id"], outside["span_id"], outside["parent_span_id"]) == (None, None, None)
    assert (inside["trace_id"], inside["span_id"], inside["parent_span_id"]) == (TRACE, span.span_id, SPAN)
    assert inside["span_token"] == "[redacted]"
