"""Wallets and gifts. A wallet never goes below zero by spending; only a chargeback can
leave it owing coins, and while it owes any it is frozen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.gifting.domain.catalog import MAX_COMBO, Gift
from services.gifting.domain.errors import InsufficientCoins, InvalidQuantity, SelfGift, WalletFrozen


@dataclass
class Wallet:
    user_id: str
    balance_coins: int = 0  # spendable coins, never negative
    debt_coins: int = 0  # coins clawed back by chargebacks beyond the balance
    version: int = 0

    @property
    def balance(self) -> int:
        """What the user sees: negative while the wallet owes coins."""
        return self.balance_coins - self.debt_coins

    @property
    def frozen(self) -> bool:
        return self.debt_coins > 0

    @property
    def status(self) -> str:
        return "frozen" if self.frozen else "active"

    def spend(self, coins: int) -> None:
        if coins <= 0:
            raise ValueError("a spend takes a positive number of coins")
        if self.frozen:
            raise WalletFrozen(f"The wallet owes {self.debt_coins} coins after a chargeback and cannot send gifts.")
        if coins > self.balance_coins:
            raise InsufficientCoins(f"The gift costs {coins} coins; the wallet holds {self.balance_coins}.")
        self.balance_coins -= coins

    def credit(self, coins: int) -> None:
        """Bought coins pay off any debt first."""
        if coins <= 0:
            raise ValueError("a credit takes a positive number of coins")
        self._set(self.balance + coins)

    def claw_back(self, coins: int) -> None:
        """A chargeback takes coins back even if that leaves the wallet owing."""
        if coins <= 0:
            raise ValueError("a claw-back takes a positive number of coins")
        self._set(self.balance - coins)

    def _set(self, balance: int) -> None:
        self.balance_coins, self.debt_coins = max(balance, 0), max(-balance, 0)


@dataclass(frozen=True)
class GiftTransaction:
    gift_tx_id: str
    sender_id: str
    creator_id: str
    gift_id: str
    quantity: int
    coins_each: int
    total_coins: int
    diamonds: int
    stream_id: str | None
    balance_after: int
    sent_at: datetime


def price_gift(*, gift: Gift, quantity: int, sender_id: str, creator_id: str) -> int:
    """The coins a combo costs, after the rules that need no wallet."""
    if not 1 <= quantity <= MAX_COMBO:
        raise InvalidQuantity(f"A combo is 1 to {MAX_COMBO} gifts.")
    if sender_id == creator_id:
        raise SelfGift("A viewer cannot send a gift to themselves.")
    return gift.coins * quantity


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: int
    user_id: str
    kind: str  # purchase, gift, chargeback
    delta_coins: int
    balance_after: int
    reference: str
    created_at: datetime
