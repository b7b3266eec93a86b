"""Time in one place, always timezone-aware UTC, so tests can pin it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def date_anywhere(now: datetime) -> date:
    """The calendar date in the westernmost time zone (UTC-12, "anywhere on Earth"), the last
    place a day begins: an age reached by this date is reached wherever the person lives. Judged
    on the UTC date, a buyer in New York was 18 from 8 pm the evening before their birthday."""
    return (now.astimezone(UTC) - timedelta(hours=12)).date()
