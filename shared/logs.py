"""JSON logs with a trace id that follows a request from HTTP through Kafka to the consumer."""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid

from pythonjsonlogger.json import JsonFormatter

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
_service: str = "coins"
_SECRET_WORDS = ("authorization", "secret", "token", "password")
# A LogRecord's own attributes; only the others (from `extra`) can carry a secret.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def new_trace_id() -> str:
    return uuid.uuid4().hex


def set_trace_id(trace_id: str | None) -> contextvars.Token:
    return _trace_id.set(trace_id)


def reset_trace_id(token: contextvars.Token) -> None:
    _trace_id.reset(token)


def current_trace_id() -> str | None:
    return _trace_id.get()


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.service = _service
        record.trace_id = _trace_id.get()
        # Never let a secret reach a log line through `extra`.
        for key in vars(record).keys() - _RECORD_ATTRIBUTES:
            if key != "trace_id" and any(word in key.lower() for word in _SECRET_WORDS):
                setattr(record, key, "[redacted]")
        return True


def configure_logging(service: str, level: str = "INFO", process: str = "web") -> None:
    global _service
    _service = f"{service}.{process}"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{service}{trace_id}",
            style="{",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
