"""The purchase service's handlers told as money stories, on the in-memory unit of work and the
in-memory card processor (no database, no broker, no sandbox)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.purchase.domain.commands import BuyCoins, RecordChargeback
from services.purchase.domain.errors import (
    AgeRestricted,
    ChargeOutcomeUnknown,
    CountryNotServed,
    NonRefundable,
    NotReversible,
    PaymentDeclined,
    PurchaseLimitExceeded,
    PurchaseNotFound,
)
from services.purchase.domain.model import COMPLETED, DECLINED, PENDING, REVERSED
from services.purchase.domain.rules import PurchaseRules
from services.purchase.service_layer import handlers
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared.idempotency import Claim, ClaimLost, KeyedRequest
from tests.fakes.purchase import FakePurchaseUnitOfWork
from tests.support.processors import FakeCardProcessor

RULES = PurchaseRules(blocked_countries=frozenset({"KP"}), daily_cap_coins=2_500_000)
ADULT = date(1990, 5, 17)


@pytest.fixture
def uow() -> FakePurchaseUnitOfWork:
    return FakePurchaseUnitOfWork()


@pytest.fixture
def processor() -> FakeCardProcessor:
    return FakeCardProcessor()


def claim(key: str = "key-1", resumes: str | None = None) -> Claim:
    return Claim(KeyedRequest(caller="gateway", key=key, fingerprint="f"), resumes=resumes)


def buy(
    uow, processor, *, token="tok_visa", country="US", birth_date=ADULT, rules=RULES, key="key-1", resumes=None, **what
):
    cmd = BuyCoins(
        user_id="viewer",
        country=country,
        birth_date=birth_date,
        payment_method="card",
        payment_token=token,
        **(what or {"package_id": "coins_700"}),
    )
    return handlers.buy_coins(cmd, uow=uow, processor=processor, rules=rules, claim=uow.hold(claim(key, resumes)))


def test_a_viewer_in_the_us_buys_700_coins_for_999_cents_and_the_wallet_is_told(uow, processor):
    purchase = buy(uow, processor)
    assert (purchase.status, purchase.coins, purchase.amount_minor, purchase.currency) == (COMPLETED, 700, 999, "USD")
    assert uow.events() == [
        (
            "purchase.completed",
            {
                "purchase_id": purchase.purchase_id,
                "user_id": "viewer",
                "coins": 700,
                "amount_minor": 999,
                "currency": "USD",
                "country": "US",
            },
        )
    ]
    assert processor.calls[purchase.purchase_id] == 1
    assert uow.committed["keys"]["key-1"][1] == purchase.purchase_id


def test_a_declined_card_records_a_declined_purchase_sends_no_coins_and_does_not_count_toward_the_cap(uow, processor):
    with pytest.raises(PaymentDeclined):
        buy(uow, processor, token="tok_declined", coins=2_500_000)
    [declined] = uow.committed["purchases"].values()
    assert (declined.status, declined.decline_code, uow.events()) == (DECLINED, "card_declined", [])
    assert buy(uow, processor, key="key-2", coins=2_500_000).status == COMPLETED  # the whole cap is still free


def test_a_purchase_over_the_24_hour_cap_is_refused_before_any_charge(uow, processor):
    rules = PurchaseRules(blocked_countries=frozenset(), daily_cap_coins=1_000)
    buy(uow, processor, rules=rules)
    with pytest.raises(PurchaseLimitExceeded, match="300 left"):
        buy(uow, processor, rules=rules, key="key-2", package_id="coins_350")
    assert len(uow.committed["purchases"]) == 1 and sum(processor.calls.values()) == 1


@pytest.mark.parametrize(
    ("country", "birth_date", "error"),
    [
        ("KP", ADULT, CountryNotServed),
        ("US", date.today() - timedelta(days=17 * 366), AgeRestricted),
        ("KR", date(date.today().year - 18, 1, 1), AgeRestricted),
    ],
)  # 18 is too young in South Korea
def test_who_may_not_buy_is_refused_before_anything_is_written_or_charged(uow, processor, country, birth_date, error):
    with pytest.raises(error):
        buy(uow, processor, country=country, birth_date=birth_date)
    assert (uow.committed["purchases"], uow.commits, processor.calls) == ({}, 0, {})


def test_an_unknown_charge_outcome_leaves_the_purchase_pending_and_the_retry_completes_that_same_purchase(
    uow, processor
):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error")
    [pending] = uow.committed["purchases"].values()
    assert pending.status == PENDING and uow.events() == []
    again = buy(uow, processor, resumes=pending.purchase_id)  # the same request, with the same key
    assert (again.purchase_id, again.status, len(uow.committed["purchases"])) == (pending.purchase_id, COMPLETED, 1)
    assert [kind for kind, _ in uow.events()] == ["purchase.completed"]


def test_an_attempt_whose_key_was_taken_over_makes_no_purchase(uow, processor):
    late = claim()
    uow.hold(claim())  # its lease ran out and a retry of the request holds the key now
    cmd = BuyCoins(
        user_id="viewer",
        country="US",
        birth_date=ADULT,
        payment_method="card",
        payment_token="tok_visa",
        package_id="coins_700",
    )
    with pytest.raises(ClaimLost):
        handlers.buy_coins(cmd, uow=uow, processor=processor, rules=RULES, claim=late)
    assert (uow.committed["purchases"], processor.calls) == ({}, {})


def test_the_reconciler_completes_a_charge_the_processor_took_and_declines_one_it_never_saw(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_timeout")  # the money is taken, the answer lost
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error", key="key-2")  # nothing taken
    assert reconcile_purchases(uow=uow, processor=processor, older_than=timedelta(hours=1)) == 0  # too recent
    assert reconcile_purchases(uow=uow, processor=processor, older_than=timedelta(0)) == 2
    statuses = sorted((p.status, p.decline_code) for p in uow.committed["purchases"].values())
    assert statuses == [(COMPLETED, None), (DECLINED, "not_charged")]
    assert [(kind, data["coins"]) for kind, data in uow.events()] == [("purchase.completed", 700)]


def test_a_chargeback_reverses_the_purchase_once_and_tells_the_wallet_to_take_the_coins_back(uow, processor):
    purchase = buy(uow, processor)
    chargeback = handlers.record_chargeback(RecordChargeback(purchase_id=purchase.purchase_id, reason="fraud"), uow=uow)
    assert (chargeback.coins, uow.purchase(purchase.purchase_id).status) == (700, REVERSED)
    assert uow.events()[-1] == (
        "purchase.reversed",
        {
            "purchase_id": purchase.purchase_id,
            "chargeback_id": chargeback.chargeback_id,
            "user_id": "viewer",
            "coins": 700,
            "reason": "fraud",
        },
    )
    with pytest.raises(NotReversible):
        handlers.record_chargeback(RecordChargeback(purchase_id=purchase.purchase_id, reason="fraud"), uow=uow)
    with pytest.raises(PurchaseNotFound):
        handlers.record_chargeback(RecordChargeback(purchase_id="nope", reason="fraud"), uow=uow)
    assert len(uow.events()) == 2


def test_coins_are_non_refundable(uow, processor):
    purchase = buy(uow, processor)
    with pytest.raises(NonRefundable):
        handlers.refuse_refund(purchase.purchase_id, uow=uow)
    with pytest.raises(PurchaseNotFound):
        handlers.refuse_refund("nope", uow=uow)
    assert handlers.get_purchase(purchase.purchase_id, uow=uow).status == COMPLETED


def test_a_custom_amount_in_japan_is_priced_in_whole_yen_and_listed_with_the_users_purchases(uow, processor):
    custom = buy(uow, processor, country="JP", coins=1_000)
    package = buy(uow, processor, country="JP", key="key-2", package_id="coins_70")
    assert (custom.amount_minor, custom.currency, package.amount_minor) == (2_286, "JPY", 160)
    listed = handlers.purchases_of("viewer", uow=uow, limit=10, before=None)
    assert {p.purchase_id for p in listed} == {custom.purchase_id, package.purchase_id}
    with pytest.raises(CountryNotServed):
        handlers.price_list("KP", rules=RULES)
