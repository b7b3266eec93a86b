"""Running a service's background process (relay, consumer, worker) until SIGTERM/SIGINT, with its
probe and metrics port (shared.runtime.probes) served beside it."""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def settle_heap() -> None:
    """Hide what the process made while starting (modules, the app, SQLAlchemy's metadata, the
    schemas: ~160,000 objects in a web worker) from the garbage collector, which then walks only
    what requests and events make. Without this every full collection walks them all: 0.1-0.2 s
    of CPU, every few thousand gifts on the batch route (its web CPU per gift: 0.122 -> 0.106 ms,
    measured by `make bench`). Called once a process is ready to serve, after a collection
    (nothing dead is frozen)."""
    gc.collect()
    gc.freeze()


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
    """Run `loop(stop)` until a signal sets `stop`; `probes` (a WSGI app, see shared.runtime.probes) is
    served on `metrics_host`:`metrics_port` meanwhile, when that is not 0. `name` is
    <service>-<kind> (e.g. gifting-relay): in production it refuses another's credentials."""
    from shared.credentials import deployment_environment, refuse_foreign

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
        from shared.runtime.probes import serve

        server = serve(metrics_port, probes, host=metrics_host)
    log.info("started", extra={"process_name": name, "pid": os.getpid()})
    settle_heap()
    try:
        loop(stop)
    finally:
        if cleanup is not None:
            cleanup()
        if server is not None:
            server.shutdown()
        log.info("stopped", extra={"process_name": name})
