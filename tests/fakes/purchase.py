"""The purchase service's unit of work in memory: purchases, chargebacks, request keys and the outbox."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from services.purchase.adapters.repository import AbstractChargebackRepository, AbstractPurchaseRepository
from services.purchase.domain.model import CHARGEBACK_PENDING, DECLINED, HELD, PENDING, Chargeback, Purchase
from services.purchase.service_layer.unit_of_work import AbstractUnitOfWork
from shared.idempotency import ClaimLost
from tests.fakes import FakeUnitOfWork


class FakePurchaseRepository(AbstractPurchaseRepository):
    """Purchases in a dict, and their claims beside them (token, until), as the SQL keeps them."""

    def __init__(self, purchases: dict[str, Purchase], claims: dict[str, tuple[str, datetime]]):
        self._purchases = purchases
        self._claims = claims

    def lock_buyer(self, user_id: str) -> None:
        """One transaction at a time here: nothing to serialise."""

    def coins_bought_since(self, user_id: str, since: datetime) -> int:
        return sum(
            p.coins
            for p in self._purchases.values()
            if p.user_id == user_id and p.created_at >= since and p.status != DECLINED
        )

    def add(self, purchase: Purchase, *, claim_token: str, claimed_until: datetime) -> None:
        self._purchases[purchase.purchase_id] = dataclasses.replace(purchase)
        self._claims[purchase.purchase_id] = (claim_token, claimed_until)

    def _live(self, purchase_id: str, now: datetime) -> str | None:
        token, until = self._claims.get(purchase_id, (None, None))
        return token if token is not None and until > now else None

    def claim(self, purchase_id: str, *, token: str, until: datetime, now: datetime, due: bool = False) -> bool:
        stored = self._purchases.get(purchase_id)
        if stored is None or stored.status != PENDING or self._live(purchase_id, now) not in (None, token):
            return False
        if due and stored.next_check_at > now:
            return False
        self._claims[purchase_id] = (token, until)
        return True

    def settle(
        self, purchase: Purchase, *, token: str, now: datetime, attempted_before: datetime | None = None
    ) -> bool:
        stored = self._purchases[purchase.purchase_id]
        if stored.status != PENDING or self._live(purchase.purchase_id, now) != token:
            return False
        if attempted_before is not None and stored.attempted_at >= attempted_before:
            return False
        self.update(purchase)
        self._claims.pop(purchase.purchase_id, None)
        return True

    def release(self, purchase_id: str, *, token: str, next_check_at: datetime | None = None) -> None:
        if self._claims.get(purchase_id, (None,))[0] != token:
            return
        self._claims.pop(purchase_id)
        if next_check_at is not None:
            stored = self._purchases[purchase_id]
            stored.next_check_at, stored.checks = next_check_at, stored.checks + 1

    def update(self, purchase: Purchase) -> None:
        fields = ("status", "processor_ref", "decline_code", "completed_at", "reversed_at", "hold_reason")
        stored = self._purchases[purchase.purchase_id]
        self._purchases[purchase.purchase_id] = dataclasses.replace(
            stored, **{name: getattr(purchase, name) for name in fields}
        )

    def mark_attempt(self, purchase_id: str, at: datetime, *, token: str) -> bool:
        if self._purchases[purchase_id].status != PENDING or self._live(purchase_id, at) != token:
            return False
        self._purchases[purchase_id].attempted_at = at
        return True

    def due(self, now: datetime, *, limit: int) -> list[Purchase]:
        due = [
            p
            for p in self._purchases.values()
            if p.status == PENDING and p.next_check_at <= now and self._live(p.purchase_id, now) is None
        ]
        return [dataclasses.replace(p) for p in sorted(due, key=lambda p: p.next_check_at)[:limit]]

    def held(self, *, limit: int) -> list[Purchase]:
        held = sorted((p for p in self._purchases.values() if p.status == HELD), key=lambda p: p.created_at)
        return [dataclasses.replace(p) for p in held[:limit]]

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
        self._by_purchase[chargeback.purchase_id] = dataclasses.replace(chargeback)

    def of_purchase(self, purchase_id: str) -> Chargeback | None:
        stored = self._by_purchase.get(purchase_id)
        return dataclasses.replace(stored) if stored else None

    def update(self, chargeback: Chargeback) -> None:
        stored = self._by_purchase[chargeback.purchase_id]
        if stored.status == CHARGEBACK_PENDING:
            stored.status, stored.settled_at = chargeback.status, chargeback.settled_at


class FakePurchaseUnitOfWork(FakeUnitOfWork, AbstractUnitOfWork):
    source = "purchase"

    def empty(self) -> dict:
        return {"purchases": {}, "claims": {}, "chargebacks": {}, "keys": {}}

    def attach(self, data: dict) -> None:
        self.purchases = FakePurchaseRepository(data["purchases"], data["claims"])
        self.chargebacks = FakeChargebackRepository(data["chargebacks"])
        self._keys = data["keys"]

    def hold(self) -> str:
        """Give the request's key to a new attempt, as the web layer's claim does before the
        handler runs; its token (the attempt an earlier hold gave it to has lost it)."""
        token = str(uuid.uuid4())
        self.committed["keys"]["held_by"] = token
        return token

    def attach_key(self, resource_id: str, *, token: str) -> None:
        if self._keys.get("held_by") != token:
            raise ClaimLost("the key is not held by this attempt")
        self._keys["resource_id"] = resource_id

    def purchase(self, purchase_id: str) -> Purchase:
        """A committed purchase as stored."""
        return self.committed["purchases"][purchase_id]
