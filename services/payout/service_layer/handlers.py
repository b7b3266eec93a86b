"""The payout service's use cases: register creators and change their payout method, credit
gifts' diamonds, request withdrawals, and read earnings. Each takes what is asked and,
keyword-only, a unit of work and its dependencies, and never commits: its entry point owns the
transaction (shared.messaging.uow). Sending withdrawals to the processor and settling them is the
payout worker's (payouts.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time

from services.payout.domain.commands import (
    ChangePayoutMethod,
    CreditEarnings,
    LiftMethodHold,
    RegisterCreator,
    RequestWithdrawal,
)
from services.payout.domain.errors import (
    CreatorAlreadyRegistered,
    CreatorNotRegistered,
    NoMethodHold,
    WithdrawalNotFound,
)
from services.payout.domain.model import (
    PENDING,
    Creator,
    CreatorAccount,
    Earning,
    Earnings,
    PayoutMethodChange,
    Withdrawal,
    diamonds_owed,
    mask,
)
from services.payout.domain.rules import PAYOUT_CURRENCY, PayoutRules
from services.payout.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth.onbehalf import UserGrant
from shared.clock import date_anywhere, utcnow
from shared.contracts import PAYOUT_METHOD_CHANGED, PAYOUT_METHOD_HOLD_LIFTED
from shared.ids import new_id
from shared.observability import tracing


def register_creator(
    cmd: RegisterCreator, *, uow: AbstractUnitOfWork, rules: PayoutRules, grant: UserGrant | None = None
) -> tuple[Creator, bool]:
    """Register a creator; True if newly registered. The same registration again changes nothing;
    a different one is refused: a payout method changes only through `change_payout_method`. A
    user grant (shared.auth.onbehalf), one that names no spend, is spent with it."""
    if grant is not None:
        grant.allows_no_spend()
    now = utcnow()
    rules.check_country(cmd.country)
    rules.check_creator_age(birth_date=cmd.birth_date, today=date_anywhere(now))
    creator = Creator(
        creator_id=cmd.creator_id,
        country=cmd.country,
        birth_date=cmd.birth_date,
        payout_method=cmd.payout_method,
        payout_account=cmd.payout_account,
        created_at=now,
        updated_at=now,
    )
    uow.spend_grant(grant)
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
    return creator, created


def change_payout_method(
    cmd: ChangePayoutMethod, *, uow: AbstractUnitOfWork, rules: PayoutRules, grant: UserGrant | None = None
) -> PayoutMethodChange:
    """Point a creator's future payouts elsewhere, recording the old and new method, the caller
    and the end user who asked, and when; new withdrawals wait out a hold (`rules`), and the
    change's event tells a notifier. Withdrawals already requested keep the method they were made
    with. A user grant (shared.auth.onbehalf), one that names no spend (a withdrawal's grant
    cannot redirect the payouts), is spent with the change."""
    if grant is not None:
        grant.allows_no_spend()
    now = utcnow()
    creator = uow.creators.get_for_update(cmd.creator_id)
    if creator is None:
        raise CreatorNotRegistered()
    uow.spend_grant(grant)
    change = PayoutMethodChange(
        change_id=new_id(),
        creator_id=cmd.creator_id,
        old_method=creator.payout_method,
        old_account=creator.payout_account,
        new_method=cmd.payout_method,
        new_account=cmd.payout_account,
        changed_by=cmd.changed_by,
        changed_at=now,
        requested_by=cmd.requested_by,
        hold_until=rules.method_hold_until(now),
    )
    uow.creators.change_method(change)
    uow.outbox.add(PAYOUT_METHOD_CHANGED, _method_changed(change))
    return change


def _method_changed(change: PayoutMethodChange) -> dict:
    """The data of `payout_method.changed` (shared.contracts): accounts masked; no lift (none yet)."""
    lift = ("hold_lifted_at", "hold_lifted_by", "hold_lift_requested_by", "hold_lift_reason")
    return {
        **{name: value for name, value in vars(change).items() if name not in lift},
        "old_account": mask(change.old_account),
        "new_account": mask(change.new_account),
    }


def lift_method_hold(cmd: LiftMethodHold, *, uow: AbstractUnitOfWork) -> tuple[PayoutMethodChange, int]:
    """An operator ends the running hold of the last payout method change now, recorded on that
    change with who and why; the creator's waiting withdrawals become sendable at once (each is
    still held for review at its turn if the method has changed since it was asked for). Returns
    the change and how many withdrawals stopped waiting; refused when no hold runs. A
    `payout_method.hold_lifted` event tells a notifier, as the change's own event did."""
    now = utcnow()
    creator = uow.creators.get_for_update(cmd.creator_id)
    if creator is None:
        raise CreatorNotRegistered()
    if creator.method_hold_until is None or creator.method_hold_until <= now:
        raise NoMethodHold(f"Creator {cmd.creator_id} has no payout method change hold running.")
    change = dataclasses.replace(
        uow.creators.method_changes(cmd.creator_id)[0],
        hold_lifted_at=now,
        hold_lifted_by=cmd.lifted_by,
        hold_lift_requested_by=cmd.requested_by,
        hold_lift_reason=cmd.reason,
    )
    uow.creators.lift_method_hold(change)
    released = uow.withdrawals.send_waiting_at(cmd.creator_id, now)
    uow.outbox.add(
        PAYOUT_METHOD_HOLD_LIFTED,
        {
            "change_id": change.change_id,
            "creator_id": change.creator_id,
            "hold_until": change.hold_until,
            "lifted_at": now,
            "lifted_by": cmd.lifted_by,
            "requested_by": cmd.requested_by,
            "reason": cmd.reason,
            "withdrawals_released": released,
        },
    )
    return change, released


def payout_method_changes(creator_id: str, *, uow: AbstractUnitOfWork) -> list[PayoutMethodChange]:
    if uow.creators.get(creator_id) is None:
        raise CreatorNotRegistered()
    return uow.creators.method_changes(creator_id)


def credit_earnings(cmds: list[CreditEarnings], *, uow: AbstractUnitOfWork, rules: PayoutRules) -> None:
    """Credit each gift's diamonds to its creator, once per gift however often it is delivered:
    one insert of the earnings, then one increment per creator for the gifts that were new. The
    consumer applies a batch of gift.sent events through it, or one event when a batch failed."""
    earned = [
        Earning(
            gift_tx_id=cmd.gift_tx_id,
            creator_id=cmd.creator_id,
            sender_id=cmd.sender_id,
            diamonds=cmd.diamonds,
            earned_at=cmd.sent_at,
            available_at=rules.available_at(cmd.sent_at),
        )
        for cmd in cmds
    ]
    new = uow.earnings.add_many(earned)
    uow.accounts.credit_many(diamonds_owed(earned, new=new))


def request_withdrawal(
    cmd: RequestWithdrawal, *, uow: AbstractUnitOfWork, rules: PayoutRules, grant: UserGrant | None = None
) -> Withdrawal:
    """Reserve a withdrawal's diamonds, sent once any payout method change's hold has ended; a grant
    must cover its amount."""
    if grant is not None:
        grant.allows_at_most("max_amount_minor", cmd.amount_minor)
    creator = uow.creators.get(cmd.creator_id)
    if creator is None:
        raise CreatorNotRegistered(f"Creator {cmd.creator_id} has not registered a payout method.")
    rules.check_country(creator.country)
    quote = rules.quote(amount_minor=cmd.amount_minor, method=creator.payout_method)
    account = uow.accounts.get_or_create_for_update(cmd.creator_id)  # locks the creator's withdrawals
    now = utcnow()
    uow.spend_grant(grant)
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
        send_after=rules.send_after(hold_until=creator.method_hold_until, now=now),
        **tracing.carried(),
    )
    uow.accounts.save(account)
    uow.withdrawals.add(withdrawal)
    return withdrawal


def earnings_of(creator_id: str, *, uow: AbstractUnitOfWork) -> Earnings:
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
    withdrawal = uow.withdrawals.get(withdrawal_id)
    if withdrawal is None:
        raise WithdrawalNotFound(f"There is no withdrawal {withdrawal_id}.")
    return withdrawal
