"""Prices, ages, countries and the 24-hour cap, with no I/O."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.purchase.domain.errors import (
    AgeRestricted,
    CountryNotServed,
    InvalidBirthDate,
    InvalidCoinAmount,
    NoPriceList,
    NotReversible,
    PurchaseLimitExceeded,
    UnknownPackage,
)
from services.purchase.domain.model import Purchase
from services.purchase.domain.pricing import PRICE_LISTS, price_list_for
from services.purchase.domain.rules import PurchaseRules, age_on

RULES = PurchaseRules(blocked_countries=frozenset({"KP"}))
TODAY = date(2026, 11, 24)


def test_us_packages_are_the_spec_prices():
    us = price_list_for("US")
    assert us.currency == "USD"
    assert [(p.coins, p.amount_minor) for p in us.packages] == [
        (70, 99),
        (350, 499),
        (700, 999),
        (1400, 1999),
        (3500, 4999),
        (7000, 9999),
        (17500, 24999),
    ]


def test_every_required_country_has_its_own_currency():
    assert {c: PRICE_LISTS[c].currency for c in ("US", "GB", "DE", "JP")} == {
        "US": "USD",
        "GB": "GBP",
        "DE": "EUR",
        "JP": "JPY",
    }
    assert price_list_for("JP").minor_unit_digits == 0


def test_a_custom_amount_is_priced_per_coin_at_the_dearest_package_rate_rounded_up():
    assert price_list_for("US").custom(70).amount_minor == 100  # 70 * 24,999 / 17,500 = 99.996
    assert price_list_for("US").custom(1000).amount_minor == 1429  # 1000 * 24,999 / 17,500 = 1428.51...
    assert price_list_for("JP").custom(30).amount_minor == 69  # 30 * 160 / 70 = 68.57...


@pytest.mark.parametrize("coins", [29, 2_500_001, 0])
def test_custom_amounts_are_30_to_2_5_million(coins):
    with pytest.raises(InvalidCoinAmount):
        price_list_for("US").custom(coins)


@given(st.integers(30, 2_500_000), st.sampled_from(sorted(PRICE_LISTS)))
def test_custom_prices_are_positive_integers_never_below_any_package_rate(coins, country):
    prices = price_list_for(country)
    price = prices.custom(coins).amount_minor
    assert isinstance(price, int) and price > 0
    assert all(price * p.coins >= coins * p.amount_minor for p in prices.packages)
    dearest = max(prices.packages, key=lambda p: (p.amount_minor * 10**12) // p.coins)
    assert (price - 1) * dearest.coins < coins * dearest.amount_minor  # rounded up by less than one minor unit


def test_unknown_package_and_country():
    with pytest.raises(UnknownPackage):
        price_list_for("US").package("coins_71")
    with pytest.raises(NoPriceList):
        price_list_for("ZZ")


def test_blocked_country_is_refused():
    with pytest.raises(CountryNotServed):
        RULES.check_country("KP")
    RULES.check_country("US")


def test_age_turns_on_the_birthday():
    assert age_on(date(2008, 11, 24), TODAY) == 18
    assert age_on(date(2008, 11, 25), TODAY) == 17


def test_buyers_must_be_18_or_19_in_korea():
    RULES.check_age(birth_date=date(2008, 11, 24), country="US", today=TODAY)
    with pytest.raises(AgeRestricted):
        RULES.check_age(birth_date=date(2008, 11, 25), country="US", today=TODAY)
    with pytest.raises(AgeRestricted):
        RULES.check_age(birth_date=date(2007, 11, 25), country="KR", today=TODAY)
    RULES.check_age(birth_date=date(2007, 11, 24), country="KR", today=TODAY)
    with pytest.raises(InvalidBirthDate):
        RULES.check_age(birth_date=date(2030, 1, 1), country="US", today=TODAY)


def test_the_rolling_cap_counts_what_was_bought():
    RULES.check_daily_cap(bought_coins=2_400_000, coins=100_000)
    with pytest.raises(PurchaseLimitExceeded):
        RULES.check_daily_cap(bought_coins=2_400_000, coins=100_001)


def test_a_chargeback_reverses_a_completed_purchase_is_void_for_a_declined_one_and_waits_for_a_pending_one():
    def purchase(status: str) -> Purchase:
        return Purchase("p", "u", "US", "coins_70", 70, 99, "USD", status, None, None, None, processor_ref="ch_1")

    completed = purchase("completed")
    assert (completed.charge_back(at="now"), completed.status, completed.reversed_at) == ("reversed", "reversed", "now")
    assert [purchase(s).charge_back(at=None) for s in ("declined", "pending", "held")] == ["void", "pending", "pending"]
    with pytest.raises(NotReversible):
        completed.charge_back(at=None)


def test_an_answer_for_another_charge_is_named_field_by_field():
    asked = Purchase("p", "u", "US", "coins_70", 70, 99, "USD", "pending", None, None, None)
    assert asked.mismatch(payment_id="p", amount_minor=99, currency="USD") is None
    assert asked.mismatch(payment_id="q", amount_minor=1, currency="usd") == (
        "processor answered payment id 'q' (asked 'p'), amount 1 (asked 99), currency 'usd' (asked 'USD')"
    )


def test_lookups_back_off_doubling_up_to_the_cap():
    from datetime import timedelta

    from services.purchase.domain.model import next_check_delay

    delays = [next_check_delay(n, first=timedelta(seconds=5), cap=timedelta(minutes=1)).seconds for n in range(6)]
    assert delays == [5, 10, 20, 40, 60, 60]
    assert next_check_delay(10_000, first=timedelta(seconds=5), cap=timedelta(minutes=1)).seconds == 60
