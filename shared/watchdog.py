"""A watchdog that exits a process whose loop has stalled, for its supervisor to start afresh."""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)


class StallWatchdog:
    """Exits the process (status 70) once `progress()` has not been called for `after_s` (0: never),
    so that its supervisor (make run, Kubernetes) starts a fresh one. It runs in a thread of its
    own and leaves with os._exit: the stalled thread cannot be interrupted (it sits in a call that
    never returns), and a clean exit would wait for it."""

    def __init__(self, after_s: float, what: str):
        self.after_s = after_s
        self.what = what
        self._last = time.monotonic()

    def progress(self) -> None:
        self._last = time.monotonic()

    def start(self, stop: threading.Event) -> None:
        self.progress()
        if self.after_s:
            threading.Thread(target=self._watch, args=(stop,), daemon=True, name="watchdog").start()

    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(5):
            stalled = time.monotonic() - self._last
            if stalled > self.after_s:
                log.error("%s stalled; exiting so that it is restarted", self.what, extra={"stalled_s": round(stalled)})
                logging.shutdown()
                os._exit(70)
