"""Settling a pending purchase by what the processor said of its charge, as the holder of a
live claim on it (the request charging it, or one reconciler looking it up: the settling
statement checks the claim itself); chargebacks, recorded whatever the purchase's state and
applied once it settles; and the operator's review of purchases held because the processor's
answer was not for the charge asked for (our id, amount, currency).
"""

from __future__ import annotations

from datetime import datetime

from services.purchase.adapters.processor import APPROVED, UNKNOWN, ChargeResult, PaymentProcessor
from services.purchase.domain.commands import RecordChargeback
from services.purchase.domain.errors import ChargeNotConfirmed, NotHeld, NotReversible, PurchaseNotFound
from services.purchase.domain.model import (
    CHARGEBACK_PENDING,
    CHARGEBACK_REVERSED,
    COMPLETED,
    HELD,
    MAX_REFERENCE,
    PENDING,
    Chargeback,
    Purchase,
    storable_reference,
)
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared.clock import utcnow
from shared.contracts import PURCHASE_COMPLETED, PURCHASE_REVERSED
from shared.ids import new_id
from shared.messaging.uow import transaction


def settle_purchase(
    purchase_id: str,
    *,
    uow: AbstractUnitOfWork,
    result: ChargeResult | None,
    token: str,
    not_charged_before: datetime | None = None,
    next_check_at: datetime | None = None,
) -> tuple[Purchase, bool]:
    """Settle a pending purchase by what the processor said of its charge, as the holder of the
    claim `token`: completed, declined, or held when the answer is not for the charge asked for.
    `result` None (the processor has no charge) declines it only if its last charge attempt was
    before `not_charged_before`. Unsettled (unknown, or too recent), the claim is given up and,
    with `next_check_at`, its next lookup scheduled. Returns the purchase and whether this call
    settled it (False: unsettled, or another party settled it first)."""
    now = utcnow()
    purchase = uow.purchases.get(purchase_id)
    if purchase.status != PENDING:
        return purchase, False
    attempted_before = _judge(purchase, result, not_charged_before=not_charged_before, now=now)
    if purchase.status == PENDING or not uow.purchases.settle(
        purchase, token=token, now=now, attempted_before=attempted_before
    ):
        uow.purchases.release(purchase_id, token=token, next_check_at=next_check_at)
        current = uow.purchases.get(purchase_id)
        return current, False
    if purchase.status == COMPLETED:
        uow.outbox.add(PURCHASE_COMPLETED, _purchase_completed(purchase))
    _apply_chargeback(purchase, uow=uow, at=now)
    return purchase, True


def _judge(purchase: Purchase, result: ChargeResult | None, *, not_charged_before, now: datetime):
    """Settle `purchase` in memory by the answer (or leave it pending); returns the bound its last
    charge attempt must be older than, for the settling statement to check, where that matters."""
    if result is None:
        if not_charged_before is not None and purchase.attempted_at < not_charged_before:
            purchase.decline(code="not_charged")
            return not_charged_before
        return None
    if result.outcome == UNKNOWN:
        return None
    wrong = purchase.mismatch(
        payment_id=result.payment_id,
        amount_minor=result.amount_minor,
        currency=result.currency,
        reference=result.reference,
    )
    if wrong:
        purchase.hold(reason=wrong, processor_ref=result.reference)
    elif result.outcome == APPROVED:
        purchase.complete(processor_ref=result.reference, at=now)
    else:
        purchase.decline(code=result.decline_code or "declined")
    return None


def _apply_chargeback(purchase: Purchase, *, uow: AbstractUnitOfWork, at: datetime) -> None:
    """A chargeback recorded while the purchase was pending or held takes effect now it settled."""
    chargeback = uow.chargebacks.of_purchase(purchase.purchase_id)
    if chargeback is None or chargeback.status != CHARGEBACK_PENDING:
        return
    status = purchase.charge_back(at=at)
    if status == CHARGEBACK_PENDING:  # held: it waits for the review
        return
    chargeback.settle(status, at=at)
    uow.chargebacks.update(chargeback)
    if status == CHARGEBACK_REVERSED:
        uow.purchases.update(purchase)
        uow.outbox.add(PURCHASE_REVERSED, _purchase_reversed(chargeback))


def record_chargeback(cmd: RecordChargeback, *, uow: AbstractUnitOfWork) -> Chargeback:
    """Record a chargeback the processor reports, whatever the purchase's state: a completed
    purchase is reversed at once, a declined one makes it void, a pending or held one leaves it
    pending until the purchase settles (`settle_purchase`, `resolve_held`)."""
    purchase = uow.purchases.get(cmd.purchase_id, for_update=True)
    if purchase is None:
        raise PurchaseNotFound(f"There is no purchase {cmd.purchase_id}.")
    if uow.chargebacks.of_purchase(purchase.purchase_id) is not None:
        raise NotReversible(f"Purchase {purchase.purchase_id} was charged back already.")
    now = utcnow()
    chargeback = Chargeback(
        chargeback_id=new_id(),
        purchase_id=purchase.purchase_id,
        user_id=purchase.user_id,
        coins=purchase.coins,
        reason=cmd.reason,
        created_at=now,
    )
    uow.chargebacks.add(chargeback)
    _apply_chargeback(purchase, uow=uow, at=now)
    recorded = uow.chargebacks.of_purchase(purchase.purchase_id)
    return recorded


def resolve_held(
    purchase_id: str,
    *,
    complete: bool,
    uow: AbstractUnitOfWork,
    processor: PaymentProcessor,
    reference: str | None = None,
) -> Purchase:
    """An operator's verdict on a purchase held for review: complete it (coins credited, with the
    processor's reference, or the one the operator read at the processor where the answer's could
    not be kept) or decline it (nothing credited; a charge taken is refunded at the processor by
    hand). A chargeback waiting for it takes effect. It is completed only if the processor, asked
    now, holds a settled charge for it of its amount and currency (else ChargeNotConfirmed: coins
    would be credited for money never taken). It begins and commits its own transactions: no
    transaction is open while the processor is asked (on SQLite one would hold the database's
    write lock, the service's requests and workers waiting on it, for the processor's deadline)."""
    charge = None
    if complete:
        with transaction(uow):
            _held(uow.purchases.get(purchase_id), purchase_id)
        charge = processor.lookup(payment_id=purchase_id)
    with transaction(uow):
        purchase = _held(uow.purchases.get(purchase_id, for_update=True), purchase_id)
        now = utcnow()
        if complete:
            _charged_as_asked(purchase, charge)
            found = charge.reference if charge.reference and storable_reference(charge.reference) else None
            reference = reference or found or purchase.processor_ref  # as the processor shows it now, first
            if not reference:
                raise NotHeld(
                    f"Purchase {purchase_id} has no processor reference to complete it with: give --reference."
                )
            if not storable_reference(reference):
                raise NotHeld(f"A reference is at most {MAX_REFERENCE} printable characters.")
            purchase.complete(processor_ref=reference, at=now)
            uow.outbox.add(PURCHASE_COMPLETED, _purchase_completed(purchase))
        else:
            purchase.decline(code="declined_on_review")
        uow.purchases.update(purchase)
        _apply_chargeback(purchase, uow=uow, at=now)
    return purchase


def _held(purchase: Purchase | None, purchase_id: str) -> Purchase:
    if purchase is None:
        raise PurchaseNotFound(f"There is no purchase {purchase_id}.")
    if purchase.status != HELD:
        raise NotHeld(f"Purchase {purchase_id} is {purchase.status}, not held for review.")
    return purchase


def _charged_as_asked(purchase: Purchase, charge: ChargeResult | None) -> None:
    """Raise ChargeNotConfirmed unless `charge` (the processor's answer now) is a settled charge
    for this purchase, of its amount and currency."""
    if charge is None:
        why = "has no charge for it"
    elif charge.outcome == UNKNOWN:
        why = "cannot be asked (unreachable, or no answer of its own)"
    elif charge.outcome != APPROVED:
        why = f"holds its charge {charge.outcome}"
    else:
        why = purchase.mismatch(
            payment_id=charge.payment_id, amount_minor=charge.amount_minor, currency=charge.currency
        )
    if why is not None:
        raise ChargeNotConfirmed(
            f"Purchase {purchase.purchase_id} is not completed: the processor {why.removeprefix('processor ')}."
        )


def held_purchases(*, uow: AbstractUnitOfWork, limit: int = 1000) -> list[Purchase]:
    """Purchases held for review, oldest first."""
    return uow.purchases.held(limit=limit)


def _purchase_completed(purchase: Purchase) -> dict:
    """The `purchase.completed` event's data (shared.contracts): what gifting credits the wallet with."""
    return {
        "purchase_id": purchase.purchase_id,
        "user_id": purchase.user_id,
        "coins": purchase.coins,
        "amount_minor": purchase.amount_minor,
        "currency": purchase.currency,
        "country": purchase.country,
    }


def _purchase_reversed(chargeback: Chargeback) -> dict:
    """The `purchase.reversed` event's data (shared.contracts): what gifting claws back from the wallet."""
    return {
        "purchase_id": chargeback.purchase_id,
        "chargeback_id": chargeback.chargeback_id,
        "user_id": chargeback.user_id,
        "coins": chargeback.coins,
        "reason": chargeback.reason,
    }
