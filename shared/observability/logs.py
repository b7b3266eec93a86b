"""JSON logs that carry the trace (shared.observability.tracing) from HTTP through Kafka to the consumer: every
line has trace_id, span_id and parent_span_id (null outside a span). gunicorn's own lines use
the same formatter and filter (shared.http.gunicorn_logging)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from shared.observability import tracing

_service: str = "coins"
_SECRET_WORDS = ("authorization", "secret", "token", "password")
_TRACE_FIELDS = ("trace_id", "span_id", "parent_span_id")
# A LogRecord's own attributes; only the others (from `extra`) can carry a secret.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Adds the process's service and the current span to a record; redacts secrets in `extra`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = _service
        span = tracing.current()
        record.trace_id, record.span_id, record.parent_span_id = (
            (span.trace_id, span.span_id, span.parent_id) if span else (None, None, None)
        )
        # Never let a secret reach a log line through `extra`.
        for key in vars(record).keys() - _RECORD_ATTRIBUTES:
            if key not in _TRACE_FIELDS and any(word in key.lower() for word in _SECRET_WORDS):
                setattr(record, key, "[redacted]")
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{service}{trace_id}{span_id}{parent_span_id}",
        style="{",
        rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
    )


def set_service(service: str, process: str = "web") -> None:
    """What every line's `service` says: <service>.<process>."""
    global _service
    _service = f"{service}.{process}"


def configure_logging(service: str, level: str = "INFO", process: str = "web") -> None:
    """The process's log lines, and its spans (shared.observability.tracing.configure), whose ids they carry."""
    set_service(service, process)
    tracing.configure(service, process)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
