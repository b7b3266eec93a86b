"""The payout worker's use cases (run by entrypoints/payout_worker.py): claim due withdrawals,
send each to the payout processor, and settle it by the outcome.

A withdrawal asked for through the API (handlers.request_withdrawal) is pending with its
diamonds reserved. A worker claims it for a lease (`claim_payouts`), sends it (`pay_out`), and
settles it (`settle_payout`): paid, or failed with its diamonds returned, with its
withdrawal.completed or withdrawal.failed event. An unknown outcome leaves it claimed; it is
claimed again once the lease runs out, and the processor dedupes by its id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from services.payout.adapters.processor import FAILED as FAILED_PAYOUT
from services.payout.adapters.processor import PAID, UNKNOWN, PayoutProcessor, PayoutResult
from services.payout.domain.model import COMPLETED, PROCESSING, Withdrawal
from services.payout.service_layer.unit_of_work import AbstractUnitOfWork
from shared.clock import utcnow
from shared.contracts import WITHDRAWAL_COMPLETED, WITHDRAWAL_FAILED

STILL_UNKNOWN, SETTLED_ELSEWHERE = "still_unknown", "settled_elsewhere"


class PayoutAttempt(NamedTuple):
    """What one attempt left: the withdrawal, and what this attempt did to it: completed or failed
    it, left it unknown (still_unknown), or found it settled by another worker (settled_elsewhere)."""

    withdrawal: Withdrawal
    outcome: str


def claim_payouts(*, uow: AbstractUnitOfWork, limit: int, lease_seconds: int) -> list[Withdrawal]:
    """Take due withdrawals for this worker (status processing, with a lease that may run out),
    counting each claim as an attempt."""
    now = utcnow()
    with uow:
        claimed = uow.withdrawals.claim_due(now, limit=limit)
        for withdrawal in claimed:
            withdrawal.claim(until=now + timedelta(seconds=lease_seconds))
            uow.withdrawals.update(withdrawal)
        uow.commit()
    return claimed


def pay_out(
    withdrawal: Withdrawal, *, uow: AbstractUnitOfWork, processor: PayoutProcessor, max_attempts: int
) -> PayoutAttempt:
    """Send one claimed withdrawal to the processor, then settle it: paid, or diamonds returned.
    An unknown outcome leaves it processing, claimed again after its lease (the processor
    dedupes by its id). Past `max_attempts` it is no longer sent, only looked up: no payout
    found (none can still land: the last send ended a lease ago) fails it, diamonds returned."""
    if withdrawal.attempts <= max_attempts:
        result = processor.send(
            payout_id=withdrawal.withdrawal_id,
            net_minor=withdrawal.net_minor,
            currency=withdrawal.currency,
            method=withdrawal.payout_method,
            account=withdrawal.payout_account,
        )
    else:
        result = processor.lookup(payout_id=withdrawal.withdrawal_id) or PayoutResult(
            FAILED_PAYOUT, failure_reason=f"not paid after {max_attempts} attempts"
        )
    if result.outcome == UNKNOWN:
        return PayoutAttempt(withdrawal, STILL_UNKNOWN)
    return settle_payout(withdrawal.withdrawal_id, uow=uow, result=result)


def settle_payout(withdrawal_id: str, *, uow: AbstractUnitOfWork, result: PayoutResult) -> PayoutAttempt:
    """Record a withdrawal's known outcome and its event: paid, or failed with its diamonds returned."""
    with uow:
        withdrawal = uow.withdrawals.get(withdrawal_id, for_update=True)
        if withdrawal.status != PROCESSING:  # another worker settled it after our claim lapsed
            return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)
        account = uow.accounts.get_or_create_for_update(withdrawal.creator_id)
        if result.outcome == PAID:
            account.pay_out(withdrawal.diamonds)
            withdrawal.complete(processor_ref=result.reference, at=utcnow())
        else:
            account.release(withdrawal.diamonds)
            withdrawal.fail(reason=result.failure_reason or "failed", at=utcnow())
        uow.accounts.save(account)
        uow.withdrawals.update(withdrawal)
        paid = withdrawal.status == COMPLETED
        uow.outbox.add(WITHDRAWAL_COMPLETED if paid else WITHDRAWAL_FAILED, _withdrawal_settled(withdrawal))
        uow.commit()
    return PayoutAttempt(withdrawal, withdrawal.status)


def _withdrawal_settled(withdrawal: Withdrawal) -> dict:
    """The data of `withdrawal.completed` and `withdrawal.failed` (shared.contracts)."""
    return {
        "withdrawal_id": withdrawal.withdrawal_id,
        "creator_id": withdrawal.creator_id,
        "diamonds": withdrawal.diamonds,
        "gross_minor": withdrawal.gross_minor,
        "fee_minor": withdrawal.fee_minor,
        "net_minor": withdrawal.net_minor,
        "currency": withdrawal.currency,
        "reason": withdrawal.failure_reason,
    }
