"""The purchase service's use cases.

Buying coins is a process of two short transactions around the processor call, never one long
one, each begun and committed here (`with transaction(uow)`), the charge between them:
record the purchase as pending (checking the 24-hour cap under the buyer's lock), claimed by
the request and tied to its Idempotency-Key, charge, then settle it by the processor's answer:
completed (and `purchase.completed` in the outbox), declined, or held for review when the
answer is not for the charge asked for (our id, amount, currency). A charge whose outcome is
unknown leaves the purchase pending: a retry of the same request looks the charge up first and
charges again (deduped by purchase id) only if the processor has none; the reconciler
(`reconcile.py`) looks it up on its own schedule. Only the holder of a live claim on a pending
purchase settles it (settlement.py, with chargebacks and the review of held purchases).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.purchase.adapters.processor import UNKNOWN, ChargeResult, PaymentProcessor
from services.purchase.domain.commands import BuyCoins
from services.purchase.domain.errors import ChargeOutcomeUnknown, NonRefundable, PaymentDeclined, PurchaseNotFound
from services.purchase.domain.model import DECLINED, PENDING, Purchase
from services.purchase.domain.pricing import PriceList, price_list_for
from services.purchase.domain.rules import PurchaseRules
from services.purchase.service_layer import settlement
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared import faults
from shared.clock import date_anywhere, utcnow
from shared.db.engines import retry_transient
from shared.ids import new_id
from shared.messaging.uow import transaction
from shared.observability import tracing


def price_list(country: str, *, rules: PurchaseRules) -> PriceList:
    """The coin packages and their prices where the buyer is, if coins are sold there."""
    rules.check_country(country)
    return price_list_for(country)


def buy_coins(
    cmd: BuyCoins,
    *,
    uow: AbstractUnitOfWork,
    processor: PaymentProcessor,
    rules: PurchaseRules,
    token: str,
    resumes: str | None,
    claim_for: timedelta,
    first_check: timedelta,
) -> Purchase:
    """Buy coins as the attempt `token` that holds the request's key; resumes the purchase an
    earlier attempt of the same request made (`resumes`) instead of making another. The request
    holds the purchase for `claim_for`; the reconciler first looks at it `first_check` after."""
    rules.check_country(cmd.country)
    now = utcnow()
    rules.check_age(birth_date=cmd.birth_date, country=cmd.country, today=date_anywhere(now))
    prices = price_list_for(cmd.country)
    package = prices.package(cmd.package_id) if cmd.package_id else prices.custom(cmd.coins)

    purchase, held_until = retry_transient(
        lambda: _start_purchase(
            cmd, package, rules, uow=uow, token=token, resumes=resumes, claim_for=claim_for, first_check=first_check
        )
    )
    if purchase.status == PENDING and held_until is not None:
        result = _charge(
            purchase, cmd, uow=uow, processor=processor, token=token, resumed=resumes is not None, send_by=held_until
        )
        faults.point("purchase.after_charge")
        purchase = retry_transient(lambda: _settle(purchase.purchase_id, uow=uow, result=result, token=token))
    if purchase.status == DECLINED:
        raise PaymentDeclined(f"The payment processor declined the payment ({purchase.decline_code}).")
    if purchase.status == PENDING:
        raise ChargeOutcomeUnknown(
            f"The payment processor has not confirmed purchase {purchase.purchase_id} "
            f"yet; retry with the same Idempotency-Key, or look the purchase up later."
        )
    return purchase  # completed, reversed (charged back already) or held for review


def _start_purchase(
    cmd: BuyCoins,
    package,
    rules: PurchaseRules,
    *,
    uow: AbstractUnitOfWork,
    token: str,
    resumes,
    claim_for,
    first_check,
) -> tuple[Purchase, datetime | None]:
    """The request's purchase, made or resumed, and until when the request holds it (None: it
    does not; a reconciler may be looking at it)."""
    now = utcnow()
    with transaction(uow):
        if resumes is not None:
            purchase = uow.purchases.get(resumes)
            held = purchase.status == PENDING and uow.purchases.claim(
                purchase.purchase_id, token=token, until=now + claim_for, now=now
            )
        else:
            uow.purchases.lock_buyer(cmd.user_id)
            rules.check_daily_cap(
                bought_coins=uow.purchases.coins_bought_since(cmd.user_id, now - timedelta(hours=24)),
                coins=package.coins,
                field="package_id" if cmd.package_id else "coins",  # the field the request sent
            )
            purchase = _new_purchase(cmd, package, now=now, next_check_at=now + first_check)
            uow.purchases.add(purchase, claim_token=token, claimed_until=now + claim_for)
            held = True
        uow.attach_key(purchase.purchase_id, token=token)  # only while this attempt still holds the key
    return purchase, (now + claim_for if held else None)


def _new_purchase(cmd: BuyCoins, package, *, now, next_check_at) -> Purchase:
    return Purchase(
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
        next_check_at=next_check_at,
        **tracing.carried(),
    )


def _settle(purchase_id: str, *, uow: AbstractUnitOfWork, result: ChargeResult, token: str) -> Purchase:
    with transaction(uow):
        purchase, _ = settlement.settle_purchase(purchase_id, uow=uow, result=result, token=token)
    return purchase


def _charge(
    purchase: Purchase,
    cmd: BuyCoins,
    *,
    uow,
    processor: PaymentProcessor,
    token: str,
    resumed: bool,
    send_by: datetime,
) -> ChargeResult:
    """The charge's outcome. A resumed purchase may have been charged by an earlier attempt: it
    is looked up, and charged again (deduped by its id) only if the processor has none. No charge
    leaves after `send_by`, the end of the request's hold: the reconciler takes "no charge found"
    for "none made" only long after it (a charge held up past it stays unknown, for the reconciler)."""
    result = processor.lookup(payment_id=purchase.purchase_id) if resumed else None
    if result is not None:
        return result
    if resumed and not retry_transient(lambda: _mark_attempt(purchase.purchase_id, uow=uow, token=token)):
        return ChargeResult(UNKNOWN)  # the claim was lost: whoever holds it now settles it
    return processor.charge(
        payment_id=purchase.purchase_id,
        amount_minor=purchase.amount_minor,
        currency=purchase.currency,
        method=cmd.payment_method,
        token=cmd.payment_token,
        send_by=send_by,
    )


def _mark_attempt(purchase_id: str, *, uow: AbstractUnitOfWork, token: str) -> bool:
    """A charge is sent again, by the holder of the claim: no reconciler may take "no charge
    found" for "none made" until long after (reconcile.py). False: the claim was lost, send nothing."""
    now = utcnow()
    with transaction(uow):
        if not uow.purchases.mark_attempt(purchase_id, now, token=token):
            return False
    return True


def refuse_refund(purchase_id: str, *, uow: AbstractUnitOfWork) -> None:
    """Coins are non-refundable: the only way back is a chargeback from the processor."""
    if uow.purchases.get(purchase_id) is None:
        raise PurchaseNotFound(f"There is no purchase {purchase_id}.")
    raise NonRefundable("Coins are non-refundable; a purchase is only ever reversed by a chargeback.")


def get_purchase(purchase_id: str, *, uow: AbstractUnitOfWork) -> Purchase:
    purchase = uow.purchases.get(purchase_id)
    if purchase is None:
        raise PurchaseNotFound(f"There is no purchase {purchase_id}.")
    return purchase


def purchases_of(
    user_id: str, *, uow: AbstractUnitOfWork, limit: int, before: tuple[datetime, str] | None
) -> list[Purchase]:
    """A user's purchases, newest first, before (created_at, purchase_id) if given."""
    return uow.purchases.of_user(user_id, limit=limit, before=before)
