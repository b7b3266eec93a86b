"""What callers ask gifting to do (imperative), and what the consumer applies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendGift:
    sender_id: str
    creator_id: str
    gift_id: str
    quantity: int
    stream_id: str | None = None


@dataclass(frozen=True)
class CreditPurchase:
    purchase_id: str
    user_id: str
    coins: int


@dataclass(frozen=True)
class ClawBackPurchase:
    purchase_id: str
    chargeback_id: str
    user_id: str
    coins: int
