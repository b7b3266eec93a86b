"""The purchase reconciler process: `python -m services.purchase.entrypoints.reconciler`.

Sweeps the pending purchases that are due every PURCHASE_RECONCILE_EVERY_MS; several may run
at once (each claims one purchase at a time, and settles it only while its claim is live).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from services.purchase.adapters import queries
from services.purchase.bootstrap import PurchaseService, bootstrap
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared.clock import utcnow
from shared.db.engines import ClockCheck
from shared.observability import metrics
from shared.observability.logs import configure_logging
from shared.runtime.health import ProcessHealth
from shared.runtime.probes import probe_app
from shared.runtime.process import run_until_stopped

log = logging.getLogger(__name__)


def _count_outcome(outcome: str) -> None:
    metrics.RECONCILER_OUTCOMES.labels("purchase", outcome).inc()


def backlog_gauge(svc: PurchaseService):
    """Scrape-time gauges: the pending purchases past the first-lookup bound, the age of the
    oldest pending one, and those held for review."""
    after = timedelta(seconds=svc.settings.reconcile_after_seconds)

    def collect():
        now = utcnow()
        with svc.engine.connect() as conn:
            waiting = queries.reconciler_backlog(conn, attempted_before=now - after)
            figures = queries.reconciler_gauges(conn, now=now)
        labels = {"service": "purchase"}
        return [
            (metrics.RECONCILER_BACKLOG, metrics.HELP[metrics.RECONCILER_BACKLOG], labels, waiting),
            (
                metrics.RECONCILER_OLDEST_AGE,
                metrics.HELP[metrics.RECONCILER_OLDEST_AGE],
                labels,
                figures["oldest_pending_seconds"],
            ),
            (metrics.PURCHASES_HELD, metrics.HELP[metrics.PURCHASES_HELD], labels, figures["held"]),
        ]

    return collect


def loop(svc: PurchaseService, stop: threading.Event, health: ProcessHealth | None = None) -> None:
    health = health or ProcessHealth()
    clock = ClockCheck(svc.engine)
    while not stop.is_set():
        health.beat()
        try:
            if not clock.allows_claims(health, "reconciliation"):  # a claim by this clock could end early
                stop.wait(svc.settings.reconcile_every_seconds)
                continue
            reconcile_purchases(
                uow=svc.uow(), processor=svc.processor, schedule=svc.settings.schedule, on_outcome=_count_outcome
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
