"""The purchase reconciler process: `python -m services.purchase.entrypoints.reconciler`.

Sweeps pending purchases every PURCHASE_RECONCILE_EVERY_MS; several may run (each settles a
purchase under its row lock, and a settled one is left alone).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from services.purchase.adapters import queries
from services.purchase.bootstrap import PurchaseService, bootstrap
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared import metrics
from shared.clock import utcnow
from shared.health import ProcessHealth
from shared.logs import configure_logging
from shared.probes import probe_app
from shared.process import run_until_stopped

log = logging.getLogger(__name__)


def _count_outcome(outcome: str) -> None:
    metrics.RECONCILER_OUTCOMES.labels("purchase", outcome).inc()


def backlog_gauge(svc: PurchaseService):
    """Scrape-time gauge: the pending purchases past the bound, which this process is to settle."""
    after = timedelta(seconds=svc.settings.reconcile_after_seconds)

    def collect():
        with svc.engine.connect() as conn:
            waiting = queries.reconciler_backlog(conn, attempted_before=utcnow() - after)
        name = metrics.RECONCILER_BACKLOG
        return [(name, metrics.HELP[name], {"service": "purchase"}, waiting)]

    return collect


def loop(svc: PurchaseService, stop: threading.Event, health: ProcessHealth | None = None) -> None:
    older_than = timedelta(seconds=svc.settings.reconcile_after_seconds)
    health = health or ProcessHealth()
    while not stop.is_set():
        health.beat()
        try:
            reconcile_purchases(
                uow=svc.uow(), processor=svc.processor, older_than=older_than, on_outcome=_count_outcome
            )
            health.report("sweep", True)
        except Exception as exc:  # noqa: BLE001 - the database may be down: the next sweep tries again
            log.exception("reconciliation sweep failed")
            health.report("sweep", False, f"failing: {type(exc).__name__}")
        stop.wait(svc.settings.reconcile_every_seconds)


def main() -> None:
    svc = bootstrap()
    configure_logging("purchase", svc.settings.common.log_level, process="reconciler")
    health = ProcessHealth(
        stall_after_s=max(svc.settings.common.stall_seconds, 3 * svc.settings.reconcile_every_seconds)
    )
    run_until_stopped(
        "purchase-reconciler",
        lambda stop: loop(svc, stop, health),
        metrics_port=svc.settings.common.metrics_port,
        metrics_host=svc.settings.common.metrics_host,
        probes=probe_app(health, [metrics.CallbackGauges(backlog_gauge(svc))]),
    )


if __name__ == "__main__":
    main()
