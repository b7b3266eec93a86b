"""A clock a test moves by hand, for code that reads `shared.clock.utcnow` through its module."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from shared.clock import utcnow


class ManualClock:
    """Starts at the real time (rows the handlers date stay comparable) and moves only when told."""

    def __init__(self, start: datetime | None = None):
        self._now = start or utcnow()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def pin(self, monkeypatch, *modules) -> ManualClock:
        """Make `modules` (which did `from shared.clock import utcnow`) read this clock."""
        for module in modules:
            monkeypatch.setattr(module, "utcnow", self)
        return self
