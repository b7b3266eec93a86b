"""The purchase service's unit of work in memory: purchases, chargebacks, request keys and the outbox."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from services.purchase.adapters.repository import AbstractChargebackRepository, AbstractPurchaseRepository
from services.purchase.domain.model import DECLINED, PENDING, Chargeback, Purchase
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared.idempotency import Claim, ClaimLost
from tests.fakes import FakeUnitOfWork


class FakePurchaseRepository(AbstractPurchaseRepository):
    def __init__(self, purchases: dict[str, Purchase]):
        self._purchases = purchases

    def lock_buyer(self, user_id: str) -> None:
        """One transaction at a time here: nothing to serialise."""

    def coins_bought_since(self, user_id: str, since: datetime) -> int:
        return sum(
            p.coins
            for p in self._purchases.values()
            if p.user_id == user_id and p.created_at >= since and p.status != DECLINED
        )

    def add(self, purchase: Purchase) -> None:
        self._purchases[purchase.purchase_id] = dataclasses.replace(purchase)

    def update(self, purchase: Purchase) -> None:
        fields = ("status", "processor_ref", "decline_code", "completed_at", "reversed_at")  # what the SQL sets
        stored = self._purchases[purchase.purchase_id]
        self._purchases[purchase.purchase_id] = dataclasses.replace(
            stored, **{name: getattr(purchase, name) for name in fields}
        )

    def mark_attempt(self, purchase_id: str, at: datetime) -> None:
        self._purchases[purchase_id].attempted_at = at

    def pending_before(self, cutoff: datetime, *, limit: int) -> list[Purchase]:
        stale = [p for p in self._purchases.values() if p.status == PENDING and p.attempted_at < cutoff]
        return [dataclasses.replace(p) for p in sorted(stale, key=lambda p: p.attempted_at)[:limit]]

    def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        stored = self._purchases.get(purchase_id)
        return dataclasses.replace(stored) if stored else None

    def of_user(self, user_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Purchase]:
        mine = sorted(
            (
                p
                for p in self._purchases.values()
                if p.user_id == user_id and (before is None or (p.created_at, p.purchase_id) < before)
            ),
            key=lambda p: (p.created_at, p.purchase_id),
            reverse=True,
        )
        return [dataclasses.replace(p) for p in mine[:limit]]


class FakeChargebackRepository(AbstractChargebackRepository):
    def __init__(self, chargebacks: dict[str, Chargeback]):
        self._by_purchase = chargebacks

    def add(self, chargeback: Chargeback) -> None:
        if chargeback.purchase_id in self._by_purchase:  # the table's unique purchase_id
            raise ValueError(f"purchase {chargeback.purchase_id} was charged back already")
        self._by_purchase[chargeback.purchase_id] = chargeback


class FakePurchaseUnitOfWork(FakeUnitOfWork, AbstractUnitOfWork):
    source = "purchase"

    def empty(self) -> dict:
        return {"purchases": {}, "chargebacks": {}, "keys": {}}

    def attach(self, data: dict) -> None:
        self.purchases = FakePurchaseRepository(data["purchases"])
        self.chargebacks = FakeChargebackRepository(data["chargebacks"])
        self._keys = data["keys"]

    def hold(self, claim: Claim) -> Claim:
        """Give the key to this attempt, as the web layer's claim does before the handler runs."""
        self.committed["keys"][claim.request.key] = (claim.owner, claim.resumes)
        return claim

    def attach_key(self, claim: Claim, resource_id: str) -> None:
        owner, _ = self._keys.get(claim.request.key, (None, None))
        if owner != claim.owner:
            raise ClaimLost(f"key {claim.request.key} is not held by this attempt")
        self._keys[claim.request.key] = (claim.owner, resource_id)

    def purchase(self, purchase_id: str) -> Purchase:
        """A committed purchase as stored."""
        return self.committed["purchases"][purchase_id]
