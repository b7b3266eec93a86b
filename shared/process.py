"""Running a service's background process (relay, consumer, worker) until SIGTERM/SIGINT, and the
watchdog that exits one whose loop has stalled, for its supervisor to start afresh."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def run_until_stopped(
    name: str,
    loop: Callable[[threading.Event], None],
    *,
    metrics_port: int = 0,
    metrics_host: str = "0.0.0.0",
    probes=None,
    cleanup: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run `loop(stop)` until a signal sets `stop`; `probes` (a WSGI app, see shared.probes) is
    served on `metrics_host`:`metrics_port` meanwhile, when that is not 0. `name` is
    <service>-<kind> (e.g. gifting-relay): in production it refuses another's credentials."""
    from shared.credentials import refuse_foreign
    from shared.settings import deployment_environment

    service, _, kind = name.partition("-")
    refuse_foreign(service, kind, os.environ, deployment_environment())
    stop = stop or threading.Event()

    def _stop(signum, _frame):
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>` dumps every stack to the log
    server = None
    if metrics_port and probes is not None:
        from shared.probes import serve

        server = serve(metrics_port, probes, host=metrics_host)
    log.info("started", extra={"process_name": name, "pid": os.getpid()})
    try:
        loop(stop)
    finally:
        if cleanup is not None:
            cleanup()
        if server is not None:
            server.shutdown()
        log.info("stopped", extra={"process_name": name})


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
