"""Gifting's unit of work in memory: wallets, ledger entries, gifts and the outbox."""

from __future__ import annotations

import dataclasses

from services.gifting.adapters.repository import (
    AbstractGiftBatchRepository,
    AbstractGiftRepository,
    AbstractLedgerRepository,
    AbstractWalletRepository,
)
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet
from services.gifting.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth.onbehalf import replayed
from shared.clock import utcnow
from shared.db.engines import StaleRead
from tests.fakes import FakeOutbox, FakeUnitOfWork


class FakeWalletRepository(AbstractWalletRepository):
    def __init__(self, wallets: dict[str, Wallet]):
        self._wallets = wallets

    def get(self, user_id: str) -> Wallet | None:
        stored = self._wallets.get(user_id)
        return dataclasses.replace(stored) if stored else None  # a read, not the row itself

    def get_or_create_for_update(self, user_id: str) -> Wallet:
        self._wallets.setdefault(user_id, Wallet(user_id=user_id))
        return self.get(user_id)

    def save(self, wallet: Wallet) -> None:
        if self._wallets[wallet.user_id].version != wallet.version:
            raise StaleRead(f"wallet {wallet.user_id} changed")
        wallet.version += 1
        self._wallets[wallet.user_id] = dataclasses.replace(wallet)


class FakeLedgerRepository(AbstractLedgerRepository):
    def __init__(self, entries: list[LedgerEntry]):
        self._entries = entries

    def record(self, *, wallet: Wallet, kind: str, delta_coins: int, reference: str) -> None:
        self._entries.append(
            LedgerEntry(len(self._entries) + 1, wallet.user_id, kind, delta_coins, wallet.balance, reference, utcnow())
        )

    def page(self, user_id: str, *, limit: int, before_id: int | None) -> list[LedgerEntry]:
        mine = [
            e for e in reversed(self._entries) if e.user_id == user_id and (before_id is None or e.entry_id < before_id)
        ]
        return mine[:limit]


class FakeGiftRepository(AbstractGiftRepository):
    def __init__(self, data: dict, outbox: FakeOutbox):
        self._wallets, self._gifts = data["wallets"], data["gifts"]
        self._grants = data["grants"]
        self._ledger = FakeLedgerRepository(data["entries"])
        self._outbox = outbox

    def send(self, gift: dict, *, coins: int, event: dict, grant=None) -> Wallet | None:
        wallet = self._wallets.get(gift["sender_id"])
        if wallet is None or wallet.frozen or wallet.balance_coins < coins:
            return None
        if grant is not None:
            if (grant.issuer, grant.jti) in self._grants:
                raise replayed()
            self._grants.add((grant.issuer, grant.jti))
        wallet.balance_coins -= coins
        wallet.version += 1
        self._gifts[gift["gift_tx_id"]] = GiftTransaction(**gift, balance_after=wallet.balance)
        self._ledger.record(wallet=wallet, kind="gift", delta_coins=-coins, reference=gift["gift_tx_id"])
        self._outbox.insert(event)
        return dataclasses.replace(wallet)

    def get(self, gift_tx_id: str) -> GiftTransaction | None:
        return self._gifts.get(gift_tx_id)

    def leaderboard(self, stream_id: str, *, limit: int) -> list[tuple[str, int, int]]:
        totals: dict[str, list[int]] = {}
        for gift in self._gifts.values():
            if gift.stream_id == stream_id:
                coins_and_gifts = totals.setdefault(gift.sender_id, [0, 0])
                coins_and_gifts[0] += gift.total_coins
                coins_and_gifts[1] += gift.quantity
        ranked = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))
        return [(sender, coins, count) for sender, (coins, count) in ranked[:limit]]


class FakeGiftBatchRepository(AbstractGiftBatchRepository):
    """The batch port on the transaction's working copy: nothing is kept unless the owner commits."""

    def __init__(self, data: dict, outbox: FakeOutbox):
        self._data = data
        self._outbox = outbox

    def wallets_for_update(self, user_ids) -> dict[str, Wallet]:
        stored = self._data["wallets"]
        return {user: dataclasses.replace(stored[user]) for user in set(user_ids) if user in stored}

    def spent_grants(self, grants) -> set[tuple[str, str]]:
        return set(grants) & self._data["grants"]

    def gifts(self, gift_tx_ids) -> dict[str, GiftTransaction]:
        return {i: self._data["gifts"][i] for i in gift_tx_ids}

    def record(self, made: list, *, wallets_after: list[Wallet]) -> None:
        ledger = FakeLedgerRepository(self._data["entries"])
        for gift, event, grant in made:
            if grant is not None:
                if (grant.issuer, grant.jti) in self._data["grants"]:
                    raise AssertionError("a batch spent a grant spent already")  # the primary key's refusal
                self._data["grants"].add((grant.issuer, grant.jti))
            self._data["gifts"][gift["gift_tx_id"]] = GiftTransaction(**gift)
            sender = Wallet(gift["sender_id"], gift["balance_after"])
            ledger.record(wallet=sender, kind="gift", delta_coins=-gift["total_coins"], reference=gift["gift_tx_id"])
            self._outbox.insert(event)
        for wallet in wallets_after:
            if self._data["wallets"][wallet.user_id].version != wallet.version:
                raise StaleRead(f"wallet {wallet.user_id} changed under its lock")
            self._data["wallets"][wallet.user_id] = dataclasses.replace(wallet, version=wallet.version + 1)


class FakeGiftingUnitOfWork(FakeUnitOfWork, AbstractUnitOfWork):
    source = "gifting"

    def empty(self) -> dict:
        return {"wallets": {}, "entries": [], "gifts": {}, "grants": set()}

    def attach(self, data: dict) -> None:
        self.wallets = FakeWalletRepository(data["wallets"])
        self.ledger = FakeLedgerRepository(data["entries"])
        self.gifts = FakeGiftRepository(data, self.outbox)
        self.gift_batches = FakeGiftBatchRepository(data, self.outbox)

    def balance_of(self, user_id: str) -> int:
        """The committed balance a user sees (negative while the wallet owes coins)."""
        wallet = self.committed["wallets"].get(user_id)
        return wallet.balance if wallet else 0
