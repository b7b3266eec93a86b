"""The purchase service's use cases.

Buying coins is two short transactions around the processor call, never one long one:
record the purchase as pending (checking the 24-hour cap under the buyer's lock) and tie it to
the request's Idempotency-Key, charge, then complete it and write `purchase.completed` to the
outbox, or mark it declined. A charge whose outcome is unknown leaves the purchase pending: a
retry of the same request resumes it (the processor dedupes by purchase id), and the
reconciler (`reconcile.py`) settles it if none comes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.purchase.adapters.processor import APPROVED, ChargeResult, PaymentProcessor
from services.purchase.adapters.processor import DECLINED as CHARGE_DECLINED
from services.purchase.domain.commands import BuyCoins, RecordChargeback
from services.purchase.domain.errors import ChargeOutcomeUnknown, NonRefundable, PaymentDeclined, PurchaseNotFound
from services.purchase.domain.model import DECLINED, PENDING, Chargeback, Purchase
from services.purchase.domain.pricing import PriceList, price_list_for
from services.purchase.domain.rules import PurchaseRules
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared import faults, tracing
from shared.clock import utcnow
from shared.contracts import PURCHASE_COMPLETED, PURCHASE_REVERSED
from shared.db_errors import retry_transient
from shared.idempotency import Claim
from shared.ids import new_id


def price_list(country: str, *, rules: PurchaseRules) -> PriceList:
    """The coin packages and their prices where the buyer is, if coins are sold there."""
    rules.check_country(country)
    return price_list_for(country)


def buy_coins(
    cmd: BuyCoins, *, uow: AbstractUnitOfWork, processor: PaymentProcessor, rules: PurchaseRules, claim: Claim
) -> Purchase:
    """Buy coins under the request's key claim; resumes the purchase an earlier attempt of the
    same request made (`claim.resumes`) instead of making another. Two transactions on `uow`."""
    rules.check_country(cmd.country)
    now = utcnow()
    rules.check_age(birth_date=cmd.birth_date, country=cmd.country, today=now.date())
    prices = price_list_for(cmd.country)
    package = prices.package(cmd.package_id) if cmd.package_id else prices.custom(cmd.coins)

    purchase = retry_transient(lambda: _start_purchase(cmd, uow=uow, package=package, rules=rules, claim=claim))
    if purchase.status == PENDING:
        result = processor.charge(
            payment_id=purchase.purchase_id,
            amount_minor=purchase.amount_minor,
            currency=purchase.currency,
            method=cmd.payment_method,
            token=cmd.payment_token,
        )
        faults.point("purchase.after_charge")
        purchase = retry_transient(lambda: settle_purchase(purchase.purchase_id, uow=uow, result=result))
    if purchase.status == DECLINED:
        raise PaymentDeclined(f"The payment processor declined the payment ({purchase.decline_code}).")
    if purchase.status == PENDING:
        raise ChargeOutcomeUnknown(
            f"The payment processor has not confirmed purchase {purchase.purchase_id} "
            f"yet; retry with the same Idempotency-Key, or look the purchase up later."
        )
    return purchase


def _start_purchase(cmd: BuyCoins, *, uow: AbstractUnitOfWork, package, rules: PurchaseRules, claim: Claim) -> Purchase:
    now = utcnow()
    with uow:
        if claim.resumes is not None:
            purchase = uow.purchases.get(claim.resumes, for_update=True)
            if purchase.status == PENDING:  # charge again (deduped by its id); the reconciler waits
                purchase.attempted_at = now
                uow.purchases.mark_attempt(purchase.purchase_id, now)
        else:
            uow.purchases.lock_buyer(cmd.user_id)
            rules.check_daily_cap(
                bought_coins=uow.purchases.coins_bought_since(cmd.user_id, now - timedelta(hours=24)),
                coins=package.coins,
            )
            purchase = Purchase(
                purchase_id=new_id(),
                user_id=cmd.user_id,
                country=cmd.country,
                package_id=package.package_id,
                coins=package.coins,
                amount_minor=package.amount_minor,
                currency=package.currency,
                status=PENDING,
                created_at=now,
                attempted_at=now,
                **tracing.carried(),
            )
            uow.purchases.add(purchase)
        uow.attach_key(claim, purchase.purchase_id)  # only while this attempt still holds the key
        uow.commit()
    return purchase


def settle_purchase(
    purchase_id: str, *, uow: AbstractUnitOfWork, result: ChargeResult, attempted_before: datetime | None = None
) -> Purchase:
    """Complete or decline a pending purchase by its charge's outcome (unknown: leave it pending).
    `attempted_before`: only if no charge was sent for it since (the reconciler's condition)."""
    with uow:
        purchase = uow.purchases.get(purchase_id, for_update=True)
        if purchase.status != PENDING or result.outcome not in (APPROVED, CHARGE_DECLINED):
            return purchase
        if attempted_before is not None and purchase.attempted_at >= attempted_before:
            return purchase  # a retry is charging it right now: its answer settles it
        if result.outcome == APPROVED:
            purchase.complete(processor_ref=result.reference, at=utcnow())
            uow.outbox.add(PURCHASE_COMPLETED, _purchase_completed(purchase))
        else:
            purchase.decline(code=result.decline_code or "declined")
        uow.purchases.update(purchase)
        uow.commit()
    return purchase


def record_chargeback(cmd: RecordChargeback, *, uow: AbstractUnitOfWork) -> Chargeback:
    with uow:
        purchase = uow.purchases.get(cmd.purchase_id, for_update=True)
        if purchase is None:
            raise PurchaseNotFound(f"There is no purchase {cmd.purchase_id}.")
        now = utcnow()
        purchase.reverse(at=now)
        chargeback = Chargeback(
            chargeback_id=new_id(),
            purchase_id=purchase.purchase_id,
            user_id=purchase.user_id,
            coins=purchase.coins,
            reason=cmd.reason,
            created_at=now,
        )
        uow.purchases.update(purchase)
        uow.chargebacks.add(chargeback)
        uow.outbox.add(PURCHASE_REVERSED, _purchase_reversed(chargeback))
        uow.commit()
    return chargeback


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


def refuse_refund(purchase_id: str, *, uow: AbstractUnitOfWork) -> None:
    """Coins are non-refundable: the only way back is a chargeback from the processor."""
    with uow:
        if uow.purchases.get(purchase_id) is None:
            raise PurchaseNotFound(f"There is no purchase {purchase_id}.")
    raise NonRefundable("Coins are non-refundable; a purchase is only ever reversed by a chargeback.")


def get_purchase(purchase_id: str, *, uow: AbstractUnitOfWork) -> Purchase:
    with uow:
        purchase = uow.purchases.get(purchase_id)
    if purchase is None:
        raise PurchaseNotFound(f"There is no purchase {purchase_id}.")
    return purchase


def purchases_of(
    user_id: str, *, uow: AbstractUnitOfWork, limit: int, before: tuple[datetime, str] | None
) -> list[Purchase]:
    """A user's purchases, newest first, before (created_at, purchase_id) if given."""
    with uow:
        return uow.purchases.of_user(user_id, limit=limit, before=before)
