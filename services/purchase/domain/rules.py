"""Who may buy coins, from where, and how many per rolling 24 hours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.purchase.domain.errors import AgeRestricted, CountryNotServed, InvalidBirthDate, PurchaseLimitExceeded


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class PurchaseRules:
    blocked_countries: frozenset[str]
    daily_cap_coins: int = 2_500_000
    min_age: int = 18
    min_age_by_country: Mapping[str, int] = field(default_factory=lambda: {"KR": 19})

    def check_country(self, country: str) -> None:
        if country in self.blocked_countries:
            raise CountryNotServed(f"Coins cannot be bought from {country}.")

    def check_age(self, *, birth_date: date, country: str, today: date) -> None:
        """`today`: the date anywhere on Earth (shared.clock `date_anywhere`), whose places are at
        most two days ahead of it: a later birth date is in the future everywhere."""
        if birth_date > today + timedelta(days=2):
            raise InvalidBirthDate("The birth date is in the future.")
        required = self.min_age_by_country.get(country, self.min_age)
        if age_on(birth_date, today) < required:
            raise AgeRestricted(f"Buyers in {country} must be {required} or older.")

    def check_daily_cap(self, *, bought_coins: int, coins: int, field: str = "coins") -> None:
        """`field`: the request's field that named the coins (a package's id, or a custom amount)."""
        if bought_coins + coins > self.daily_cap_coins:
            left = max(self.daily_cap_coins - bought_coins, 0)
            raise PurchaseLimitExceeded(
                f"At most {self.daily_cap_coins} coins per 24 hours; {left} left now.", field=field
            )
