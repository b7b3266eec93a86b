"""The spans this test process ends, kept by the SDK's in-memory exporter on the process's own
tracer provider (shared.observability.tracing.configure), as a collector would receive them."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.observability import tracing

_exporter: InMemorySpanExporter | None = None


def recorder() -> InMemorySpanExporter:
    """The process's in-memory exporter (added to its provider once: a provider keeps its
    processors), emptied."""
    global _exporter
    if _exporter is None:
        _exporter = InMemorySpanExporter()
        tracing.configure().add_span_processor(SimpleSpanProcessor(_exporter))
    _exporter.clear()
    return _exporter


def hex_id(span_id: int) -> str:
    return f"{span_id:016x}"


def of_trace(exporter: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]


def parent_of(span: ReadableSpan) -> str | None:
    return hex_id(span.parent.span_id) if span.parent else None
