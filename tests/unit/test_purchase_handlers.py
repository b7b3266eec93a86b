"""The purchase service's handlers told as money stories, on the in-memory unit of work and the
in-memory card processor (no database, no broker, no sandbox)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from services.purchase.adapters.processor import APPROVED, UNKNOWN, ChargeResult
from services.purchase.adapters.processor import DECLINED as CHARGE_DECLINED
from services.purchase.domain.commands import BuyCoins, RecordChargeback
from services.purchase.domain.errors import (
    AgeRestricted,
    ChargeNotConfirmed,
    ChargeOutcomeUnknown,
    CountryNotServed,
    NonRefundable,
    NotHeld,
    NotReversible,
    PaymentDeclined,
    PurchaseLimitExceeded,
    PurchaseNotFound,
)
from services.purchase.domain.model import COMPLETED, DECLINED, PENDING, REVERSED
from services.purchase.domain.rules import PurchaseRules
from services.purchase.service_layer import handlers, settlement
from services.purchase.service_layer.reconcile import Schedule, reconcile_purchases
from shared.idempotency import ClaimLost
from shared.messaging.uow import run, transaction
from tests.fakes.purchase import FakePurchaseUnitOfWork
from tests.support.processors import FakeCardProcessor

RULES = PurchaseRules(blocked_countries=frozenset({"KP"}), daily_cap_coins=2_500_000)
ADULT = date(1990, 5, 17)
CLAIM_FOR = timedelta(seconds=30)


@pytest.fixture
def uow() -> FakePurchaseUnitOfWork:
    return FakePurchaseUnitOfWork()


@pytest.fixture
def processor() -> FakeCardProcessor:
    return FakeCardProcessor()


def buy(uow, processor, *, token="tok_visa", country="US", birth_date=ADULT, rules=RULES, resumes=None, **what):
    cmd = BuyCoins(
        user_id="viewer",
        country=country,
        birth_date=birth_date,
        payment_method="card",
        payment_token=token,
        **(what or {"package_id": "coins_700"}),
    )
    return handlers.buy_coins(
        cmd,
        uow=uow,
        processor=processor,
        rules=rules,
        token=uow.hold(),
        resumes=resumes,
        claim_for=CLAIM_FOR,
        first_check=timedelta(0),  # due at once: the tests sweep when they choose
    )


def reconcile(uow, processor, *, not_charged_after=timedelta(0), limit=100, **schedule) -> int:
    """One sweep, every due purchase looked up; "none found" declines a charge sent before `not_charged_after` ago."""
    timing = {"backoff": timedelta(0), "backoff_cap": timedelta(0), "claim_for": CLAIM_FOR, **schedule}
    return reconcile_purchases(
        uow=uow, processor=processor, schedule=Schedule(not_charged_after=not_charged_after, **timing), limit=limit
    )


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
    assert uow.committed["keys"]["resource_id"] == purchase.purchase_id


def test_a_declined_card_records_a_declined_purchase_sends_no_coins_and_does_not_count_toward_the_cap(uow, processor):
    with pytest.raises(PaymentDeclined):
        buy(uow, processor, token="tok_declined", coins=2_500_000)
    [declined] = uow.committed["purchases"].values()
    assert (declined.status, declined.decline_code, uow.events()) == (DECLINED, "card_declined", [])
    assert buy(uow, processor, coins=2_500_000).status == COMPLETED  # the whole cap is still free


def test_a_purchase_over_the_24_hour_cap_is_refused_before_any_charge(uow, processor):
    rules = PurchaseRules(blocked_countries=frozenset(), daily_cap_coins=1_000)
    buy(uow, processor, rules=rules)
    with pytest.raises(PurchaseLimitExceeded, match="300 left"):
        buy(uow, processor, rules=rules, package_id="coins_350")
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


def test_a_charge_may_leave_only_while_the_request_holds_the_purchase(uow, processor, monkeypatch):
    """The processor is told the hold's end (`send_by`): a charge held up past it (a name lookup,
    a pause) is not sent, so the reconciler's "no charge found" (long after) cannot be followed by
    the charge landing: card charged, purchase declined."""
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    for module in (handlers, settlement):
        monkeypatch.setattr(module, "utcnow", lambda: now)
    made = buy(uow, processor)
    assert processor.sent_by[made.purchase_id] == now + CLAIM_FOR


def test_age_is_judged_on_the_date_anywhere_on_earth_not_the_utc_date(uow, processor, monkeypatch):
    """02:00 UTC on 15 June is 22:00 on the 14th in New York: one born on 15 June 2008 is 17 there
    (and in every US time zone), so no card is charged; by noon UTC that birthday has begun everywhere."""
    for module in (handlers, settlement):
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    with pytest.raises(AgeRestricted):
        buy(uow, processor, birth_date=date(2008, 6, 15))
    assert processor.calls == {}
    for module in (handlers, settlement):
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2026, 6, 15, 12, 0, tzinfo=UTC))
    assert buy(uow, processor, birth_date=date(2008, 6, 15)).status == COMPLETED


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
    late = uow.hold()
    uow.hold()  # its lease ran out and a retry of the request holds the key now
    cmd = BuyCoins(
        user_id="viewer",
        country="US",
        birth_date=ADULT,
        payment_method="card",
        payment_token="tok_visa",
        package_id="coins_700",
    )
    with pytest.raises(ClaimLost):
        handlers.buy_coins(
            cmd,
            uow=uow,
            processor=processor,
            rules=RULES,
            token=late,
            resumes=None,
            claim_for=CLAIM_FOR,
            first_check=CLAIM_FOR,
        )
    assert (uow.committed["purchases"], processor.calls) == ({}, {})


def test_the_reconciler_completes_a_charge_the_processor_took_and_declines_one_it_never_saw(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_timeout")  # the money is taken, the answer lost
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error")  # nothing taken
    assert reconcile(uow, processor, not_charged_after=timedelta(hours=1)) == 1  # the charge found completes
    assert reconcile(uow, processor) == 1  # none found, and no attempt can still land: declined
    statuses = sorted((p.status, p.decline_code) for p in uow.committed["purchases"].values())
    assert statuses == [(COMPLETED, None), (DECLINED, "not_charged")]
    assert [(kind, data["coins"]) for kind, data in uow.events()] == [("purchase.completed", 700)]


def test_a_chargeback_reverses_the_purchase_once_and_tells_the_wallet_to_take_the_coins_back(uow, processor):
    purchase = buy(uow, processor)
    chargeback = run(
        settlement.record_chargeback, RecordChargeback(purchase_id=purchase.purchase_id, reason="fraud"), uow=uow
    )
    assert (chargeback.coins, chargeback.status, uow.purchase(purchase.purchase_id).status) == (
        700,
        "reversed",
        REVERSED,
    )
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
        run(settlement.record_chargeback, RecordChargeback(purchase_id=purchase.purchase_id, reason="fraud"), uow=uow)
    with pytest.raises(PurchaseNotFound):
        run(settlement.record_chargeback, RecordChargeback(purchase_id="nope", reason="fraud"), uow=uow)
    assert len(uow.events()) == 2


def test_coins_are_non_refundable(uow, processor):
    purchase = buy(uow, processor)
    with pytest.raises(NonRefundable):
        run(handlers.refuse_refund, purchase.purchase_id, uow=uow)
    with pytest.raises(PurchaseNotFound):
        run(handlers.refuse_refund, "nope", uow=uow)
    assert run(handlers.get_purchase, purchase.purchase_id, uow=uow).status == COMPLETED


def test_a_custom_amount_in_japan_is_priced_in_whole_yen_and_listed_with_the_users_purchases(uow, processor):
    custom = buy(uow, processor, country="JP", coins=1_000)
    package = buy(uow, processor, country="JP", package_id="coins_70")
    assert (custom.amount_minor, custom.currency, package.amount_minor) == (2_286, "JPY", 160)
    listed = run(handlers.purchases_of, "viewer", uow=uow, limit=10, before=None)
    assert {p.purchase_id for p in listed} == {custom.purchase_id, package.purchase_id}
    with pytest.raises(CountryNotServed):
        handlers.price_list("KP", rules=RULES)


def chargeback(uow, purchase_id: str):
    return run(settlement.record_chargeback, RecordChargeback(purchase_id=purchase_id, reason="fraudulent"), uow=uow)


def test_a_chargeback_reported_while_the_charge_is_unknown_is_applied_once_the_reconciler_completes_it(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_timeout")  # the card is charged, the answer lost
    [pending] = uow.committed["purchases"].values()
    recorded = chargeback(uow, pending.purchase_id)
    assert (recorded.status, uow.purchase(pending.purchase_id).status, uow.events()) == ("pending", PENDING, [])
    with pytest.raises(NotReversible):  # one chargeback per purchase, whatever its state
        chargeback(uow, pending.purchase_id)
    assert reconcile(uow, processor) == 1
    assert uow.purchase(pending.purchase_id).status == REVERSED
    assert [(kind, data["coins"]) for kind, data in uow.events()] == [
        ("purchase.completed", 700),
        ("purchase.reversed", 700),
    ]
    assert uow.committed["chargebacks"][pending.purchase_id].status == "reversed"
    assert reconcile(uow, processor) == 0 and len(uow.events()) == 2


def test_a_chargeback_of_a_purchase_that_is_then_declined_is_void_and_takes_nothing(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error")  # nothing taken
    [pending] = uow.committed["purchases"].values()
    assert chargeback(uow, pending.purchase_id).status == "pending"
    assert reconcile(uow, processor) == 1
    assert (uow.purchase(pending.purchase_id).status, uow.events()) == (DECLINED, [])
    assert uow.committed["chargebacks"][pending.purchase_id].status == "void"
    with pytest.raises(PaymentDeclined):
        buy(uow, processor, token="tok_declined")
    declined = next(p for p in uow.committed["purchases"].values() if p.decline_code == "card_declined")
    assert chargeback(uow, declined.purchase_id).status == "void" and uow.events() == []


def test_a_processor_outage_leaves_purchases_pending_never_declined_and_backs_off_each_one(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error")
    [pending] = uow.committed["purchases"].values()
    processor.down = True
    first, cap = timedelta(seconds=10), timedelta(seconds=25)
    delays = []
    for _ in range(3):
        uow.committed["purchases"][pending.purchase_id].next_check_at = pending.created_at  # due now
        before = handlers.utcnow()
        assert reconcile(uow, processor, backoff=first, backoff_cap=cap) == 0
        stored = uow.purchase(pending.purchase_id)
        assert stored.status == PENDING
        delays.append(round((stored.next_check_at - before).total_seconds()))
    assert delays == [10, 20, 25] and uow.purchase(pending.purchase_id).checks == 3
    assert processor.lookups[pending.purchase_id] == 3 and processor.calls[pending.purchase_id] == 1  # never sent again
    processor.down = False
    uow.committed["purchases"][pending.purchase_id].next_check_at = pending.created_at
    assert reconcile(uow, processor) == 1 and uow.purchase(pending.purchase_id).decline_code == "not_charged"


def test_no_charge_found_declines_only_once_no_earlier_attempt_can_still_land(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error")
    [pending] = uow.committed["purchases"].values()
    assert reconcile(uow, processor, not_charged_after=timedelta(hours=1)) == 0
    assert uow.purchase(pending.purchase_id).status == PENDING
    assert reconcile(uow, processor) == 1 and uow.purchase(pending.purchase_id).status == DECLINED


def test_a_sweep_that_settles_nothing_moves_on_so_no_purchase_starves(uow, processor):
    for _ in range(3):
        with pytest.raises(ChargeOutcomeUnknown):
            buy(uow, processor, token="tok_error")
    processor.down = True
    seen = []
    for _ in range(3):
        before = dict(processor.lookups)
        reconcile(uow, processor, limit=1)
        [looked_up] = [p for p, n in processor.lookups.items() if n != before.get(p, 0)]
        seen.append(looked_up)
    assert sorted(seen) == sorted(uow.committed["purchases"])  # each in turn, none twice


def test_a_retry_of_an_unknown_outcome_looks_the_charge_up_and_neither_charges_again_nor_requeues(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_timeout")
    [pending] = uow.committed["purchases"].values()
    again = buy(uow, processor, token="tok_timeout", resumes=pending.purchase_id)
    assert again.status == COMPLETED and processor.calls[pending.purchase_id] == 1
    assert processor.lookups[pending.purchase_id] == 1
    stored = uow.purchase(pending.purchase_id)
    assert (stored.attempted_at, stored.next_check_at) == (pending.attempted_at, pending.next_check_at)
    assert [kind for kind, _ in uow.events()] == ["purchase.completed"]


def test_a_purchase_a_live_request_holds_is_not_looked_up_by_the_reconciler(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_timeout")
    [pending] = uow.committed["purchases"].values()
    with transaction(uow):  # a retry of the request holds it, charging
        assert uow.purchases.claim(
            pending.purchase_id, token="retry", until=handlers.utcnow() + CLAIM_FOR, now=handlers.utcnow()
        )
    assert reconcile(uow, processor) == 0 and processor.lookups[pending.purchase_id] == 0
    settled, by_me = run(
        settlement.settle_purchase,
        pending.purchase_id,
        uow=uow,
        result=processor.charges[pending.purchase_id],
        token="someone-else",
    )
    assert (settled.status, by_me, uow.events()) == (PENDING, False, [])  # no live claim, no settling


def test_a_charge_of_the_wrong_amount_is_held_for_review_credits_nothing_and_an_operator_resolves_it(uow, processor):
    held = buy(uow, processor, token="tok_one_cent")
    assert (held.status, uow.events()) == ("held", [])
    assert "amount 1 (asked 999)" in held.hold_reason
    assert [p.purchase_id for p in run(settlement.held_purchases, uow=uow)] == [held.purchase_id]
    assert chargeback(uow, held.purchase_id).status == "pending"  # waits for the review

    def resolve(purchase_id, complete):
        return settlement.resolve_held(purchase_id, complete=complete, uow=uow, processor=processor)

    with pytest.raises(ChargeNotConfirmed, match=r"amount 1 \(asked 999\)"):
        resolve(held.purchase_id, True)  # 700 coins for a cent: never
    for answer in (
        None,
        ChargeResult(UNKNOWN),
        dataclasses.replace(processor.charges[held.purchase_id], outcome=CHARGE_DECLINED),
    ):
        processor.charges[held.purchase_id] = answer  # no charge, no answer, declined: nothing to credit
        with pytest.raises(ChargeNotConfirmed):
            resolve(held.purchase_id, True)
    processor.charges[held.purchase_id] = ChargeResult(
        APPROVED, reference="ch_fixed", payment_id=held.purchase_id, amount_minor=999, currency="USD"
    )  # the processor's books say it charged what was asked after all
    resolved = resolve(held.purchase_id, True)
    assert resolved.status == REVERSED and resolved.processor_ref == "ch_fixed"
    assert [kind for kind, _ in uow.events()] == ["purchase.completed", "purchase.reversed"]
    with pytest.raises(NotHeld):
        resolve(held.purchase_id, False)
    other = buy(uow, processor, token="tok_one_cent")
    assert resolve(other.purchase_id, False).status == DECLINED
    assert len(uow.events()) == 2 and run(settlement.held_purchases, uow=uow) == []


@pytest.mark.parametrize(
    "told",
    [{"amount_minor": 998}, {"currency": "EUR"}, {"payment_id": "someone-else"}, {"amount_minor": None}],
)
def test_the_reconciler_holds_a_charge_whose_answer_does_not_match(uow, processor, told):
    import dataclasses

    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_timeout")
    [pending] = uow.committed["purchases"].values()
    processor.charges[pending.purchase_id] = dataclasses.replace(processor.charges[pending.purchase_id], **told)
    assert reconcile(uow, processor) == 1
    assert (uow.purchase(pending.purchase_id).status, uow.events()) == ("held", [])


def test_a_purchase_whose_lookup_keeps_failing_goes_to_the_back_of_the_queue(uow, processor):
    for _ in range(2):
        with pytest.raises(ChargeOutcomeUnknown):
            buy(uow, processor, token="tok_error")
    broken, other = sorted(uow.committed["purchases"].values(), key=lambda p: p.next_check_at)

    def lookup(*, payment_id):
        if payment_id == broken.purchase_id:
            raise RuntimeError("the adapter failed")
        return None

    processor.lookup = lookup
    outcomes = []
    reconcile_purchases(
        uow=uow,
        processor=processor,
        limit=1,
        on_outcome=outcomes.append,
        schedule=Schedule(timedelta(hours=1), timedelta(seconds=10), timedelta(seconds=10), CLAIM_FOR),
    )
    assert outcomes == ["error"]
    with uow:
        [due] = uow.purchases.due(handlers.utcnow(), limit=10)
    assert due.purchase_id == other.purchase_id  # the broken one waits its backoff; the other is next


def test_none_found_too_soon_is_looked_up_again_once_it_can_be_decided_not_a_long_backoff_later(uow, processor):
    with pytest.raises(ChargeOutcomeUnknown):
        buy(uow, processor, token="tok_error")
    [pending] = uow.committed["purchases"].values()
    uow.committed["purchases"][pending.purchase_id].checks = 5  # the next backoff would be 160 s
    timing = {"backoff": timedelta(seconds=5), "backoff_cap": timedelta(minutes=10)}
    assert reconcile(uow, processor, not_charged_after=timedelta(seconds=30), **timing) == 0
    wait = uow.purchase(pending.purchase_id).next_check_at - pending.attempted_at
    assert timedelta(seconds=30) <= wait < timedelta(seconds=35)
