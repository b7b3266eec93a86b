"""Gifts, wallets and what a gift costs: the catalog (each gift's price in coins), a wallet that
never goes below zero by spending (only a chargeback can leave it owing coins, and while it owes
any it is frozen), and the record of a gift sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.gifting.domain.errors import InsufficientCoins, InvalidQuantity, SelfGift, UnknownGift, WalletFrozen


# -- the catalog ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gift:
    gift_id: str
    name: str
    coins: int


CATALOG: dict[str, Gift] = {
    g.gift_id: g
    for g in (
        Gift("rose", "Rose", 1),
        Gift("tiktok", "TikTok", 1),
        Gift("finger_heart", "Finger Heart", 5),
        Gift("panda", "Panda", 5),
        Gift("perfume", "Perfume", 20),
        Gift("doughnut", "Doughnut", 30),
        Gift("hat_and_mustache", "Hat and Mustache", 99),
        Gift("confetti", "Confetti", 100),
        Gift("sunglasses", "Sunglasses", 199),
        Gift("corgi", "Corgi", 299),
        Gift("concert", "Concert", 500),
        Gift("galaxy", "Galaxy", 1_000),
        Gift("lion", "Lion", 29_999),
        Gift("universe", "Universe", 44_999),
    )
}

MAX_COMBO = 99


def find_gift(gift_id: str) -> Gift:
    try:
        return CATALOG[gift_id]
    except KeyError:
        raise UnknownGift(f"There is no gift {gift_id!r} in the catalog.") from None


# -- wallets and gifts sent -----------------------------------------------------------------------
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
