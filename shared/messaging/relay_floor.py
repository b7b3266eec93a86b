"""Where an outbox relay's poll starts (`PollFloor`): after what it published a while ago, not over
every dead index entry left by rows published since the last VACUUM."""

from __future__ import annotations

import time
from collections import deque


class PollFloor:
    """Where a relay's poll starts. Published rows stay in the unpublished-rows index as dead
    entries until VACUUM (at 800 events/s, tens of thousands between two autovacuum visits), and
    a poll from the start steps over every one: milliseconds a poll. So a poll starts after the
    highest id published `lookback_s` ago; a row that becomes visible later than that below it (a
    transaction that held its id that long; `outbox republish`) is found by a poll from the
    start, made every `full_scan_s`."""

    def __init__(self, lookback_s: float, full_scan_s: float):
        self.lookback_s = lookback_s
        self.full_scan_s = full_scan_s
        self._published_up_to: deque[tuple[float, int]] = deque()  # (when, highest id marked then)
        self._floor = 0
        self._full_scan_due = 0.0
        self._scanning = False

    def for_poll(self, now: float) -> int:
        """The id this poll starts after: the floor, or 0 where a full scan is due."""
        while self._published_up_to and self._published_up_to[0][0] <= now - self.lookback_s:
            self._floor = max(self._floor, self._published_up_to.popleft()[1])
        self._scanning = now >= self._full_scan_due
        return 0 if self._scanning else self._floor

    def found(self, now: float, first_id: int | None) -> None:
        """The poll's first row: a full scan that found rows below the floor is made again at once."""
        if self._scanning:
            below = first_id is not None and first_id <= self._floor
            self._full_scan_due = now if below else now + self.full_scan_s

    def published(self, highest_id: int) -> None:
        self._published_up_to.append((time.monotonic(), highest_id))
