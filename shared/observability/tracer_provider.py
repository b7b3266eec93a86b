"""The process's OpenTelemetry tracer provider, from the standard variables: OTEL_SERVICE_NAME
(default coins-<service>-<process>), OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, and
OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT: spans are sent over OTLP/HTTP by a batch processor (a
bounded queue that drops when full, bounded exports: a dead collector never holds a request);
without an endpoint, or with OTEL_TRACES_EXPORTER=none, nothing is sent. Spans themselves are
shared.observability.tracing's.
"""

from __future__ import annotations

import contextvars
import logging

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from shared import __version__
from shared.credentials import deployment_environment
from shared.env import Env

# The trace id a root span is to take (a bare trace id to continue), read by the id generator
# while shared.observability.tracing.start makes that one span.
WANTED_TRACE_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("wanted_trace_id", default=None)
# Bounds of the export when no OTEL_BSP_* / OTEL_EXPORTER_OTLP_TIMEOUT says otherwise.
_QUEUE_SIZE, _BATCH_SIZE, _DELAY_MS, _EXPORT_TIMEOUT_MS, _OTLP_TIMEOUT_S = 2048, 512, 2000, 5000, 3


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
    made = TracerProvider(resource=resource, id_generator=_Ids())
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
