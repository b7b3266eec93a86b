"""The purchase reconciler: nothing stays pending.

A purchase is left pending when its charge's outcome was unknown (the processor timed out or
failed, or the process died between the charge and the settle) and no retry of the same
request came. Once its last charge attempt is older than the bound (longer than any charge can
take), the processor is asked: a charge found settles it (completed or declined); none found
means none was made, and it is declined; an answer still unknown leaves it for the next sweep.
Each purchase is settled in its own transaction, so one bad row never blocks the others, and in
a span of the trace of the request that made it (its log lines and its event carry that trace).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from services.purchase.adapters.processor import DECLINED, ChargeResult, PaymentProcessor
from services.purchase.domain.model import PENDING
from services.purchase.service_layer.handlers import settle_purchase
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared import tracing
from shared.clock import utcnow
from shared.db_errors import retry_transient

log = logging.getLogger(__name__)


def reconcile_purchases(
    *,
    uow: AbstractUnitOfWork,
    processor: PaymentProcessor,
    older_than: timedelta,
    limit: int = 100,
    on_outcome: Callable[[str], None] = lambda outcome: None,
) -> int:
    """Settle pending purchases whose last charge attempt is older than `older_than`; returns how many.
    `on_outcome` hears each one's: completed, declined, still_unknown or error."""
    cutoff = utcnow() - older_than

    def stale():
        with uow:
            return uow.purchases.pending_before(cutoff, limit=limit)

    settled = 0
    for purchase in retry_transient(stale):
        with tracing.running(tracing.continued(purchase.traceparent, purchase.tracestate)):
            outcome = _reconcile_one(purchase, uow=uow, processor=processor, cutoff=cutoff)
        on_outcome(outcome)
        settled += outcome not in ("still_unknown", "error")
    return settled


def _reconcile_one(purchase, *, uow: AbstractUnitOfWork, processor: PaymentProcessor, cutoff) -> str:
    """Settle one stale purchase by what the processor knows; returns its outcome."""
    try:
        found = processor.lookup(payment_id=purchase.purchase_id)
        if found is None:  # the processor never took a charge for it
            found = ChargeResult(DECLINED, decline_code="not_charged")
        after = retry_transient(
            lambda: settle_purchase(purchase.purchase_id, uow=uow, result=found, attempted_before=cutoff)
        )
    except Exception:  # noqa: BLE001 - logged; the next sweep tries again, the others go on
        log.exception("purchase reconciliation failed", extra={"purchase_id": purchase.purchase_id})
        return "error"
    if after.status == PENDING:
        return "still_unknown"
    log.info("purchase reconciled", extra={"purchase_id": after.purchase_id, "status": after.status})
    return after.status
