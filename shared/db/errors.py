"""Database errors: which are transient and worth retrying (`is_transient`, `StaleRead`), retrying
them (`retry_transient`), and the text of one that is safe to log (`safe_error`)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")


def safe_error(exc: BaseException) -> str:
    """An error for a log line or a dead-letter header, never a row's values: SQLAlchemy's text
    carries the statement's parameters (payout accounts, e-mails) and PostgreSQL's DETAIL lines
    repeat the failing row, so a database error is its driver's class and first line only."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [""])[0]
        return f"{type(exc.orig).__name__}: {first}"
    return f"{type(exc).__name__}: {exc}"


class StaleRead(Exception):
    """A row changed between read and write (optimistic check failed): retry the transaction."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: lost connections, lock timeouts, serialization failures, stale reads."""
    if isinstance(exc, StaleRead):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return False


def retry_transient(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.05, max_delay: float = 2.0) -> T:
    """Run fn, retrying transient database errors with jittered exponential backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_transient(exc) or attempt == attempts:
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random())
            log.warning(
                "transient database error, retrying", extra={"attempt": attempt, "error": safe_error(exc)[:200]}
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
