"""Coin packages and their prices per country, in integer minor units of the local currency.

A custom amount is priced per coin at the country's dearest per-coin package rate, rounded up
to the currency's minor unit: N custom coins never cost less than a package of N coins, so a
custom amount is never a way around the package prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from services.purchase.domain.errors import InvalidCoinAmount, NoPriceList, UnknownPackage

PACKAGE_COINS = (70, 350, 700, 1_400, 3_500, 7_000, 17_500)
CUSTOM_MIN_COINS = 30
CUSTOM_MAX_COINS = 2_500_000


@dataclass(frozen=True)
class Package:
    package_id: str
    coins: int
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class PriceList:
    country: str
    currency: str
    minor_unit_digits: int
    packages: tuple[Package, ...]

    def package(self, package_id: str) -> Package:
        for package in self.packages:
            if package.package_id == package_id:
                return package
        raise UnknownPackage(f"There is no package {package_id!r}.")

    def custom(self, coins: int) -> Package:
        if not CUSTOM_MIN_COINS <= coins <= CUSTOM_MAX_COINS:
            raise InvalidCoinAmount(f"A custom amount is {CUSTOM_MIN_COINS} to {CUSTOM_MAX_COINS} coins.")
        # The highest amount_minor / coins, compared exactly (Fraction: integers, never a float).
        base = max(self.packages, key=lambda p: Fraction(p.amount_minor, p.coins))
        amount_minor = -(-coins * base.amount_minor // base.coins)  # ceiling division, integers only
        return Package(package_id="custom", coins=coins, amount_minor=amount_minor, currency=self.currency)


def _list(country: str, currency: str, digits: int, prices: tuple[int, ...]) -> PriceList:
    return PriceList(
        country,
        currency,
        digits,
        tuple(
            Package(f"coins_{coins}", coins, price, currency)
            for coins, price in zip(PACKAGE_COINS, prices, strict=True)
        ),
    )


_EUR = (99, 499, 999, 1_999, 4_999, 9_999, 24_999)
PRICE_LISTS: dict[str, PriceList] = {
    p.country: p
    for p in (
        _list("US", "USD", 2, (99, 499, 999, 1_999, 4_999, 9_999, 24_999)),
        _list("GB", "GBP", 2, (89, 449, 899, 1_799, 4_499, 8_999, 22_499)),
        _list("DE", "EUR", 2, _EUR),
        _list("FR", "EUR", 2, _EUR),
        _list("CA", "CAD", 2, (139, 699, 1_399, 2_799, 6_999, 13_999, 34_999)),
        _list("JP", "JPY", 0, (160, 800, 1_600, 3_200, 8_000, 16_000, 40_000)),
        _list("KR", "KRW", 0, (1_400, 7_000, 14_000, 28_000, 70_000, 140_000, 350_000)),
    )
}


def price_list_for(country: str) -> PriceList:
    try:
        return PRICE_LISTS[country]
    except KeyError:
        raise NoPriceList(f"Coins are not priced for country {country!r}.") from None
