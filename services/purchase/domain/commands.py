"""What callers ask the purchase service to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class BuyCoins:
    user_id: str
    country: str
    birth_date: date
    payment_method: str
    payment_token: str
    package_id: str | None = None
    coins: int | None = None


@dataclass(frozen=True)
class RecordChargeback:
    purchase_id: str
    reason: str
