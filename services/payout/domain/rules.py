"""Withdrawal rules: conversion, minimum, daily cap and fees, all in integers.

Diamonds convert at `diamonds_per_usd` (200 by default: a diamond is worth half a cent).
A withdrawal is asked for as a gross amount in USD cents; the payout method's fee comes out
of it, so gross = net + fee exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.payout.domain.errors import (
    BelowMinimumWithdrawal,
    CountryNotServed,
    CreatorTooYoung,
    DailyCapExceeded,
    InvalidBirthDate,
    InvalidWithdrawalAmount,
)

PAYOUT_CURRENCY = "USD"


@dataclass(frozen=True)
class Fee:
    basis_points: int = 0
    fixed_minor: int = 0

    def on(self, gross_minor: int) -> int:
        return -(-gross_minor * self.basis_points // 10_000) + self.fixed_minor  # rounded up, in cents


@dataclass(frozen=True)
class WithdrawalQuote:
    diamonds: int
    gross_minor: int
    fee_minor: int
    net_minor: int


# The one hold no release can lift: a withdrawal's destination that moved since it was asked for
# has moved for good (only an operator's fail settles it).
METHOD_CHANGED = "method_changed"


@dataclass(frozen=True)
class PayoutRules:
    min_withdrawal_minor: int = 10_000
    daily_cap_minor: int = 100_000
    diamonds_per_usd: int = 200
    hold_seconds: int = 0
    min_age: int = 18
    fees: Mapping[str, Fee] = field(default_factory=lambda: {"bank": Fee(0, 0), "paypal": Fee(200, 25)})
    blocked_countries: frozenset[str] = frozenset()
    # After a payout method change, how long new withdrawals (which would go to the new destination)
    # are refused: time for the creator, told by the change's event, to undo a change not theirs.
    method_change_hold_seconds: int = 24 * 3600

    def available_at(self, earned_at: datetime) -> datetime:
        """When a gift's diamonds may be withdrawn: after the hold (none by default)."""
        return earned_at + timedelta(seconds=self.hold_seconds)

    def check_country(self, country: str) -> None:
        """Creators in a blocked country can neither register nor be paid."""
        if country in self.blocked_countries:
            raise CountryNotServed(f"Creators in {country} cannot be paid.")

    def pay_time_hold(self, *, country: str, under_review: bool, destination_moved: bool = False) -> str | None:
        """Why a withdrawal must be held rather than paid when its turn comes (None: pay it).
        `destination_moved`: it waited out a payout method change's hold and the creator's method
        has changed since it was asked for (the change may have been undone as a hijack), even if
        it was changed back since."""
        if country in self.blocked_countries:
            return f"country_blocked: creators in {country} cannot be paid"
        if under_review:
            return "under_review: the creator is under review"
        if destination_moved:
            return f"{METHOD_CHANGED}: the payout method changed while this withdrawal waited out a hold"
        return None

    def method_hold_until(self, changed_at: datetime) -> datetime:
        return changed_at + timedelta(seconds=self.method_change_hold_seconds)

    def send_after(self, *, hold_until: datetime | None, now: datetime) -> datetime | None:
        """A withdrawal asked for in the hold of the last payout method change is accepted (its
        diamonds reserved) and sent only once the hold ends; None: sent at once."""
        return hold_until if hold_until is not None and now < hold_until else None

    def check_creator_age(self, *, birth_date: date, today: date) -> None:
        """`today`: the date anywhere on Earth (shared.clock `date_anywhere`), whose places are at
        most two days ahead of it: a later birth date is in the future everywhere."""
        if birth_date > today + timedelta(days=2):
            raise InvalidBirthDate("The birth date is in the future.")
        age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
        if age < self.min_age:
            raise CreatorTooYoung(f"Creators must be {self.min_age} or older to be paid.")

    def quote(self, *, amount_minor: int, method: str) -> WithdrawalQuote:
        if amount_minor < self.min_withdrawal_minor:
            raise BelowMinimumWithdrawal(f"The minimum withdrawal is {self.min_withdrawal_minor} cents.")
        if amount_minor * self.diamonds_per_usd % 100:
            raise InvalidWithdrawalAmount("The amount does not convert to a whole number of diamonds.")
        fee = self.fees[method].on(amount_minor)
        if fee >= amount_minor:
            raise InvalidWithdrawalAmount(f"The {method} fee ({fee} cents) would take the whole amount.")
        return WithdrawalQuote(
            diamonds=amount_minor * self.diamonds_per_usd // 100,
            gross_minor=amount_minor,
            fee_minor=fee,
            net_minor=amount_minor - fee,
        )

    def check_daily_cap(self, *, withdrawn_today_minor: int, amount_minor: int) -> None:
        if withdrawn_today_minor + amount_minor > self.daily_cap_minor:
            left = max(self.daily_cap_minor - withdrawn_today_minor, 0)
            raise DailyCapExceeded(f"At most {self.daily_cap_minor} cents per day; {left} left today.")

    def value_minor(self, diamonds: int) -> int:
        """The cash value of diamonds in USD cents, rounded down."""
        return diamonds * 100 // self.diamonds_per_usd


@dataclass(frozen=True)
class PayoutPolicy:
    """How the payout worker claims, sends and looks up: a claim's lease covers a whole send (the
    processor's deadline, retries included), and an unknown outcome is looked up on a backoff of
    its own, doubling from `check_backoff_seconds` up to `check_backoff_max_seconds`."""

    lease_seconds: int = 60
    max_attempts: int = 5  # sends of one withdrawal; after them it is only looked up
    deadline_seconds: float = 10.0
    check_backoff_seconds: float = 5.0
    check_backoff_max_seconds: float = 300.0

    def next_check(self, now: datetime, *, claims: int) -> datetime:
        """When to look up again an outcome still unknown after `claims` claims."""
        exponent = min(max(claims - 1, 0), 20)
        return now + timedelta(seconds=min(self.check_backoff_seconds * 2**exponent, self.check_backoff_max_seconds))

    def landing_ends(self, last_send_until: datetime) -> datetime:
        """After this, no send that ended by `last_send_until` can still reach the processor."""
        return last_send_until + timedelta(seconds=self.deadline_seconds)
