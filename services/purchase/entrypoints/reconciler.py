"""The purchase reconciler process: `python -m services.purchase.entrypoints.reconciler`.

Sweeps pending purchases every PURCHASE_RECONCILE_EVERY_MS; several may run (each settles a
purchase under its row lock, and a settled one is left alone).
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from services.purchase.bootstrap import PurchaseService, bootstrap
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared.logs import configure_logging
from shared.process import run_until_stopped

log = logging.getLogger(__name__)


def loop(svc: PurchaseService, stop: threading.Event) -> None:
    older_than = timedelta(seconds=svc.settings.reconcile_after_seconds)
    while not stop.is_set():
        try:
            reconcile_purchases(svc.uow, processor=svc.processor, older_than=older_than)
        except Exception:  # noqa: BLE001 - the database may be down: the next sweep tries again
            log.exception("reconciliation sweep failed")
        stop.wait(svc.settings.reconcile_every_seconds)


def main() -> None:
    svc = bootstrap()
    configure_logging("purchase", svc.settings.common.log_level, process="reconciler")
    run_until_stopped("purchase-reconciler", lambda stop: loop(svc, stop))


if __name__ == "__main__":
    main()
