"""Time in one place, always timezone-aware UTC, so tests can pin it."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
