"""Creators' money rules: conversion, minimum, daily cap, fees, and the diamond account."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.payout.domain.errors import (
    BelowMinimumWithdrawal,
    CreatorTooYoung,
    DailyCapExceeded,
    InsufficientEarnings,
    InvalidWithdrawalAmount,
)
from services.payout.domain.model import CreatorAccount
from services.payout.domain.rules import Fee, PayoutRules

RULES = PayoutRules()


def test_200_diamonds_make_a_dollar_and_bank_is_free():
    quote = RULES.quote(amount_minor=10_000, method="bank")
    assert (quote.diamonds, quote.gross_minor, quote.fee_minor, quote.net_minor) == (20_000, 10_000, 0, 10_000)


def test_paypal_fee_comes_out_of_the_gross():
    quote = RULES.quote(amount_minor=20_000, method="paypal")
    assert quote.fee_minor == 400 + 25
    assert quote.gross_minor == quote.net_minor + quote.fee_minor


def test_the_minimum_is_100_dollars():
    with pytest.raises(BelowMinimumWithdrawal):
        RULES.quote(amount_minor=9_999, method="bank")


def test_a_fee_that_eats_the_whole_amount_is_refused():
    rules = PayoutRules(min_withdrawal_minor=1, fees={"bank": Fee(0, 500)})
    with pytest.raises(InvalidWithdrawalAmount):
        rules.quote(amount_minor=500, method="bank")


def test_at_most_1000_dollars_a_day():
    RULES.check_daily_cap(withdrawn_today_minor=90_000, amount_minor=10_000)
    with pytest.raises(DailyCapExceeded):
        RULES.check_daily_cap(withdrawn_today_minor=90_000, amount_minor=10_001)


def test_creators_must_be_adults():
    with pytest.raises(CreatorTooYoung):
        RULES.check_creator_age(birth_date=date(2010, 1, 1), today=date(2026, 11, 24))


def test_a_withdrawal_reserves_then_pays_or_returns_diamonds():
    account = CreatorAccount("c", credited_diamonds=50_000)
    account.reserve(20_000, pending_diamonds=0)
    assert account.available(pending_diamonds=0) == 30_000
    with pytest.raises(InsufficientEarnings):
        account.reserve(30_001, pending_diamonds=0)
    account.release(20_000)  # the payout failed
    assert account.available(pending_diamonds=0) == 50_000
    account.reserve(20_000, pending_diamonds=0)
    account.pay_out(20_000)
    assert (account.available(pending_diamonds=0), account.withdrawn_diamonds) == (30_000, 20_000)


def test_diamonds_on_hold_cannot_be_withdrawn():
    account = CreatorAccount("c", credited_diamonds=30_000)
    with pytest.raises(InsufficientEarnings):
        account.reserve(20_001, pending_diamonds=10_000)


@given(
    st.integers(10_000, 10_000_000), st.integers(0, 10_000), st.integers(0, 1_000), st.sampled_from(["bank", "paypal"])
)
def test_gross_is_always_net_plus_fee_in_integers(amount, bps, fixed, method):
    rules = PayoutRules(fees={method: Fee(bps, fixed)})
    try:
        quote = rules.quote(amount_minor=amount, method=method)
    except InvalidWithdrawalAmount:
        assert Fee(bps, fixed).on(amount) >= amount
        return
    assert quote.gross_minor == quote.net_minor + quote.fee_minor
    assert quote.net_minor > 0 and quote.fee_minor >= 0
    assert quote.diamonds == amount * 2
    assert all(isinstance(v, int) for v in vars(quote).values())
