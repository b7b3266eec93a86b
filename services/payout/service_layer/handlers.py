"""The payout service's use cases: register, credit earnings, withdraw, settle payouts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from services.payout.adapters.processor import FAILED as FAILED_PAYOUT
from services.payout.adapters.processor import PAID, UNKNOWN, PayoutProcessor, PayoutResult
from services.payout.domain.commands import ChangePayoutMethod, CreditEarnings, RegisterCreator, RequestWithdrawal
from services.payout.domain.errors import CreatorAlreadyRegistered, CreatorNotRegistered, WithdrawalNotFound
from services.payout.domain.model import (
    COMPLETED,
    FAILED,
    PENDING,
    PROCESSING,
    Creator,
    CreatorAccount,
    Earnings,
    PayoutMethodChange,
    Withdrawal,
)
from services.payout.domain.rules import PAYOUT_CURRENCY, PayoutRules
from services.payout.service_layer.unit_of_work import AbstractUnitOfWork
from shared import tracing
from shared.clock import utcnow
from shared.contracts import WITHDRAWAL_COMPLETED, WITHDRAWAL_FAILED
from shared.ids import new_id


def register_creator(cmd: RegisterCreator, *, uow: AbstractUnitOfWork, rules: PayoutRules) -> tuple[Creator, bool]:
    """Register a creator; True if newly registered. The same registration again changes nothing;
    a different one is refused: a payout method changes only through `change_payout_method`."""
    now = utcnow()
    rules.check_country(cmd.country)
    rules.check_creator_age(birth_date=cmd.birth_date, today=now.date())
    creator = Creator(
        creator_id=cmd.creator_id,
        country=cmd.country,
        birth_date=cmd.birth_date,
        payout_method=cmd.payout_method,
        payout_account=cmd.payout_account,
        created_at=now,
        updated_at=now,
    )
    with uow:
        created = uow.creators.add(creator)
        if not created:
            existing = uow.creators.get(cmd.creator_id)
            if (existing.country, existing.birth_date, existing.payout_method, existing.payout_account) != (
                cmd.country,
                cmd.birth_date,
                cmd.payout_method,
                cmd.payout_account,
            ):
                raise CreatorAlreadyRegistered(
                    f"Creator {cmd.creator_id!r} is registered; change the payout "
                    "method with PUT /v1/creators/{creator_id}/payout-method."
                )
            creator = existing
        uow.commit()
    return creator, created


def change_payout_method(cmd: ChangePayoutMethod, *, uow: AbstractUnitOfWork) -> PayoutMethodChange:
    """Point a creator's future payouts elsewhere, recording the old and new method, who and when.
    Withdrawals already requested keep the method they were made with."""
    with uow:
        creator = uow.creators.get_for_update(cmd.creator_id)
        if creator is None:
            raise CreatorNotRegistered()
        change = PayoutMethodChange(
            change_id=new_id(),
            creator_id=cmd.creator_id,
            old_method=creator.payout_method,
            old_account=creator.payout_account,
            new_method=cmd.payout_method,
            new_account=cmd.payout_account,
            changed_by=cmd.changed_by,
            changed_at=utcnow(),
        )
        uow.creators.change_method(change)
        uow.commit()
    return change


def payout_method_changes(creator_id: str, *, uow: AbstractUnitOfWork) -> list[PayoutMethodChange]:
    with uow:
        if uow.creators.get(creator_id) is None:
            raise CreatorNotRegistered()
        return uow.creators.method_changes(creator_id)


def credit_earnings(cmd: CreditEarnings, *, uow: AbstractUnitOfWork, rules: PayoutRules) -> None:
    with uow:
        fresh = uow.earnings.add(
            gift_tx_id=cmd.gift_tx_id,
            creator_id=cmd.creator_id,
            sender_id=cmd.sender_id,
            diamonds=cmd.diamonds,
            earned_at=cmd.sent_at,
            available_at=cmd.sent_at + timedelta(seconds=rules.hold_seconds),
        )
        if fresh:
            account = uow.accounts.get_or_create_for_update(cmd.creator_id)
            account.credit(cmd.diamonds)
            uow.accounts.save(account)
        uow.commit()


def credit_earnings_many(cmds: list[CreditEarnings], *, uow: AbstractUnitOfWork, rules: PayoutRules) -> None:
    """`credit_earnings` for a batch of gifts, set-wise: one insert of the earnings, then one
    increment per creator for the gifts that were new. Same effect as one by one, in order."""
    hold = timedelta(seconds=rules.hold_seconds)
    with uow:
        fresh = uow.earnings.add_many(
            [
                {
                    "gift_tx_id": c.gift_tx_id,
                    "creator_id": c.creator_id,
                    "sender_id": c.sender_id,
                    "diamonds": c.diamonds,
                    "earned_at": c.sent_at,
                    "available_at": c.sent_at + hold,
                }
                for c in cmds
            ]
        )
        owed: dict[str, int] = {}
        for cmd in cmds:
            if cmd.gift_tx_id in fresh:
                fresh.discard(cmd.gift_tx_id)  # a gift repeated within the batch counts once
                if cmd.diamonds <= 0:
                    raise ValueError("a credit takes a positive number of diamonds")
                owed[cmd.creator_id] = owed.get(cmd.creator_id, 0) + cmd.diamonds
        uow.accounts.credit_many(owed)
        uow.commit()


def request_withdrawal(cmd: RequestWithdrawal, *, uow: AbstractUnitOfWork, rules: PayoutRules) -> Withdrawal:
    with uow:
        creator = uow.creators.get(cmd.creator_id)
        if creator is None:
            raise CreatorNotRegistered(f"Creator {cmd.creator_id} has not registered a payout method.")
        rules.check_country(creator.country)
        quote = rules.quote(amount_minor=cmd.amount_minor, method=creator.payout_method)
        account = uow.accounts.get_or_create_for_update(cmd.creator_id)  # locks the creator's withdrawals
        now = utcnow()
        start_of_day = datetime.combine(now.date(), time.min, tzinfo=UTC)
        rules.check_daily_cap(
            withdrawn_today_minor=uow.withdrawals.gross_since(cmd.creator_id, start_of_day),
            amount_minor=quote.gross_minor,
        )
        account.reserve(quote.diamonds, pending_diamonds=uow.earnings.pending(cmd.creator_id, now))
        withdrawal = Withdrawal(
            withdrawal_id=new_id(),
            creator_id=cmd.creator_id,
            diamonds=quote.diamonds,
            gross_minor=quote.gross_minor,
            fee_minor=quote.fee_minor,
            net_minor=quote.net_minor,
            currency=PAYOUT_CURRENCY,
            payout_method=creator.payout_method,
            payout_account=creator.payout_account,
            status=PENDING,
            created_at=now,
            **tracing.carried(),
        )
        uow.accounts.save(account)
        uow.withdrawals.add(withdrawal)
        uow.commit()
    return withdrawal


def claim_payouts(*, uow: AbstractUnitOfWork, limit: int, lease_seconds: int) -> list[Withdrawal]:
    """Take due withdrawals for this worker (status processing, with a lease that may run out),
    counting each claim as an attempt."""
    now = utcnow()
    with uow:
        claimed = uow.withdrawals.claim_due(now, limit=limit)
        for withdrawal in claimed:
            withdrawal.status, withdrawal.claimed_until = PROCESSING, now + timedelta(seconds=lease_seconds)
            withdrawal.attempts += 1
            uow.withdrawals.update(withdrawal)
        uow.commit()
    return claimed


def pay_out(
    withdrawal: Withdrawal, *, uow: AbstractUnitOfWork, processor: PayoutProcessor, max_attempts: int
) -> Withdrawal:
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
        return withdrawal
    return settle_payout(withdrawal.withdrawal_id, uow=uow, result=result)


def settle_payout(withdrawal_id: str, *, uow: AbstractUnitOfWork, result: PayoutResult) -> Withdrawal:
    """Record a withdrawal's known outcome and its event: paid, or failed with its diamonds returned."""
    with uow:
        current = uow.withdrawals.get(withdrawal_id, for_update=True)
        if current.status != PROCESSING:  # another worker settled it after our claim lapsed
            return current
        account = uow.accounts.get_or_create_for_update(current.creator_id)
        paid = result.outcome == PAID
        if paid:
            account.pay_out(current.diamonds)
            current.status, current.processor_ref = COMPLETED, result.reference
        else:
            account.release(current.diamonds)
            current.status, current.failure_reason = FAILED, (result.failure_reason or "failed")[:200]
        current.settled_at = utcnow()
        uow.accounts.save(account)
        uow.withdrawals.update(current)
        uow.outbox.add(
            WITHDRAWAL_COMPLETED if paid else WITHDRAWAL_FAILED,
            {
                "withdrawal_id": current.withdrawal_id,
                "creator_id": current.creator_id,
                "diamonds": current.diamonds,
                "gross_minor": current.gross_minor,
                "fee_minor": current.fee_minor,
                "net_minor": current.net_minor,
                "currency": current.currency,
                "reason": current.failure_reason,
            },
        )
        uow.commit()
    return current


def earnings_of(creator_id: str, *, uow: AbstractUnitOfWork) -> Earnings:
    with uow:
        account = uow.accounts.get(creator_id) or CreatorAccount(creator_id=creator_id)
        pending = uow.earnings.pending(creator_id, utcnow())
    return Earnings(
        total=account.credited_diamonds,
        pending=pending,
        available=account.available(pending_diamonds=pending),
        in_flight=account.reserved_diamonds,
        paid_out=account.withdrawn_diamonds,
    )


def get_withdrawal(withdrawal_id: str, *, uow: AbstractUnitOfWork) -> Withdrawal:
    with uow:
        withdrawal = uow.withdrawals.get(withdrawal_id)
    if withdrawal is None:
        raise WithdrawalNotFound(f"There is no withdrawal {withdrawal_id}.")
    return withdrawal
