"""Running a service's background process (relay, consumer, worker) until SIGTERM/SIGINT."""
from __future__ import annotations

import faulthandler
import logging
import os
import signal
import threading
from typing import Callable

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def run_until_stopped(name: str, loop: Callable[[threading.Event], None], *, metrics_port: int | None = None,
                      cleanup: Callable[[], None] | None = None) -> None:
    stop = threading.Event()

    def _stop(signum, _frame):
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>` dumps every stack to the log
    if metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        start_http_server(metrics_port, addr="0.0.0.0")
    log.info("started", extra={"process_name": name, "pid": os.getpid()})
    try:
        loop(stop)
    finally:
        if cleanup is not None:
            cleanup()
        log.info("stopped", extra={"process_name": name})
