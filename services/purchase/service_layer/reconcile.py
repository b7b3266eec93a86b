"""The purchase reconciler: nothing stays pending, and nothing is guessed.

A purchase is left pending when its charge's outcome was unknown (the processor timed out or
failed, or the process died between the charge and the settle). Each pending purchase carries
its own schedule (`next_check_at`): a sweep takes the due ones, soonest first, claims each on
its own (a claim that lasts one lookup, never a batch's), looks its charge up (never sends it
again) and settles it by the answer as the claim's holder. A lookup that settles nothing (the
processor unreachable, the charge still processing) leaves it pending and backs its next
lookup off, doubling up to a cap: it makes room for the others, so none starves whatever the
others do. Each is settled in its own transaction and in a span of the trace of the request
that made it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from services.purchase.adapters.processor import PaymentProcessor
from services.purchase.domain.model import PENDING, Purchase, next_check_delay
from services.purchase.service_layer.settlement import settle_purchase
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared.clock import utcnow
from shared.db.engines import retry_transient
from shared.ids import new_id
from shared.messaging.uow import transaction
from shared.observability import tracing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    """When pending purchases are looked up, and for how long a reconciler holds one."""

    # A charge attempt older than this cannot still land: only then does "no charge found" decline.
    not_charged_after: timedelta
    backoff: timedelta  # after the first lookup that settled nothing; doubling each time
    backoff_cap: timedelta
    claim_for: timedelta  # longer than a lookup may take (the processor's deadline)


def reconcile_purchases(
    *,
    uow: AbstractUnitOfWork,
    processor: PaymentProcessor,
    schedule: Schedule,
    limit: int = 100,
    on_outcome: Callable[[str], None] = lambda outcome: None,
) -> int:
    """Look up the pending purchases that are due; returns how many this sweep settled.
    `on_outcome` hears each one's: completed, declined, held, reversed, still_unknown or error."""

    def due():
        with transaction(uow):
            return uow.purchases.due(utcnow(), limit=limit)

    settled = 0
    for purchase in retry_transient(due):
        span = tracing.continued(
            purchase.traceparent,
            purchase.tracestate,
            name="reconcile purchase",
            attributes={"coins.purchase_id": purchase.purchase_id},
        )
        with tracing.running(span):
            outcome = _reconcile_one(purchase, uow=uow, processor=processor, schedule=schedule)
        if outcome is None:  # another reconciler, or the buyer's retry, holds it
            continue
        on_outcome(outcome)
        settled += outcome not in ("still_unknown", "error")
    return settled


def _reconcile_one(
    purchase: Purchase, *, uow: AbstractUnitOfWork, processor: PaymentProcessor, schedule: Schedule
) -> str | None:
    """Claim one due purchase, look its charge up and settle it by the answer; its outcome, or
    None if another holds it."""
    token = new_id()
    backoff = next_check_delay(purchase.checks, first=schedule.backoff, cap=schedule.backoff_cap)
    try:
        if not retry_transient(lambda: _claim(purchase.purchase_id, token, uow=uow, schedule=schedule)):
            return None
        found = processor.lookup(payment_id=purchase.purchase_id)
        now = utcnow()
        if found is None:  # none found yet: look again no later than when that can decide it
            decidable = purchase.attempted_at + schedule.not_charged_after
            backoff = max(min(backoff, decidable - now), schedule.backoff)
        after, settled_here = retry_transient(
            lambda: _settle(
                purchase.purchase_id,
                uow=uow,
                result=found,
                token=token,
                # "None found" is "none made" only once no charge sent for it can still land:
                # the bound exceeds the key's lease, which exceeds the processor's full deadline
                # (settings), so any charge sent before it has been answered or given up.
                not_charged_before=now - schedule.not_charged_after,
                next_check_at=now + backoff,
            )
        )
    except Exception:  # noqa: BLE001 - logged; it waits its turn again, the others go on
        log.exception("purchase reconciliation failed", extra={"purchase_id": purchase.purchase_id})
        _put_back(purchase.purchase_id, token, uow=uow, next_check_at=utcnow() + backoff)
        return "error"
    if after.status == PENDING:
        return "still_unknown"
    if not settled_here:
        return None  # the buyer's retry settled it (our claim had lapsed): counted there
    log.info("purchase reconciled", extra={"purchase_id": after.purchase_id, "status": after.status})
    return after.status


def _settle(purchase_id: str, **settling) -> tuple[Purchase, bool]:
    """`settle_purchase` in a transaction of its own."""
    with transaction(settling["uow"]):
        return settle_purchase(purchase_id, **settling)


def _claim(purchase_id: str, token: str, *, uow: AbstractUnitOfWork, schedule: Schedule) -> bool:
    """Claim one due purchase for one lookup; False if another holds it or it is no longer due."""
    now = utcnow()
    with transaction(uow):
        taken = uow.purchases.claim(purchase_id, token=token, until=now + schedule.claim_for, now=now, due=True)
    return taken


def _put_back(purchase_id: str, token: str, *, uow: AbstractUnitOfWork, next_check_at) -> None:
    """After a failure, give the claim up and back the next lookup off, so a purchase that keeps
    failing never holds the head of the queue; if even that fails, the claim lapses on its own."""
    try:
        with transaction(uow):
            uow.purchases.release(purchase_id, token=token, next_check_at=next_check_at)
    except Exception:  # noqa: BLE001 - the database is away: the claim lapses, the row waits
        log.warning("purchase not put back after a failure", extra={"purchase_id": purchase_id})
