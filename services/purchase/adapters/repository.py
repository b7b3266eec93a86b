"""Purchase's repositories: the abstract ports the handlers use, and their SQLAlchemy Core
adapters on the unit of work's connection (the in-memory fakes are in tests/fakes)."""

from __future__ import annotations

import abc
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.purchase.adapters.orm import buyers, chargebacks, purchases
from services.purchase.domain.model import DECLINED, Chargeback, Purchase
from shared.db import lock_for_update
from shared.upserts import insert_ignore


class AbstractPurchaseRepository(abc.ABC):
    @abc.abstractmethod
    def lock_buyer(self, user_id: str) -> None:
        """Serialise purchase starts per buyer (the 24-hour cap is a read-then-write)."""

    @abc.abstractmethod
    def coins_bought_since(self, user_id: str, since: datetime) -> int:
        """Coins bought or being paid for since `since` (declined purchases do not count)."""

    @abc.abstractmethod
    def add(self, purchase: Purchase) -> None:
        """Store a new purchase."""

    @abc.abstractmethod
    def update(self, purchase: Purchase) -> None:
        """Store a purchase's status and what came with it (reference, decline code, times)."""

    @abc.abstractmethod
    def mark_attempt(self, purchase_id: str, at: datetime) -> None:
        """A charge is about to be sent (again) for this purchase."""

    @abc.abstractmethod
    def pending_before(self, cutoff: datetime, *, limit: int) -> list[Purchase]:
        """Pending purchases whose last charge attempt is older than `cutoff`, oldest first."""

    @abc.abstractmethod
    def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        """One purchase; `for_update` locks it until the transaction ends."""

    @abc.abstractmethod
    def of_user(self, user_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Purchase]:
        """A user's purchases, newest first, before (created_at, purchase_id) if given."""


class AbstractChargebackRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, chargeback: Chargeback) -> None:
        """Store a chargeback (at most one per purchase)."""


class SqlAlchemyPurchaseRepository(AbstractPurchaseRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def lock_buyer(self, user_id: str) -> None:
        insert_ignore(self.conn, buyers, {"user_id": user_id}, ["user_id"])
        self.conn.execute(lock_for_update(sa.select(buyers.c.user_id).where(buyers.c.user_id == user_id), self.conn))

    def coins_bought_since(self, user_id: str, since: datetime) -> int:
        total = self.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(purchases.c.coins), 0)).where(
                purchases.c.user_id == user_id, purchases.c.created_at >= since, purchases.c.status != DECLINED
            )
        ).scalar()
        return int(total)

    def add(self, purchase: Purchase) -> None:
        self.conn.execute(purchases.insert().values(**vars(purchase)))

    def update(self, purchase: Purchase) -> None:
        self.conn.execute(
            purchases.update()
            .where(purchases.c.purchase_id == purchase.purchase_id)
            .values(
                status=purchase.status,
                processor_ref=purchase.processor_ref,
                decline_code=purchase.decline_code,
                completed_at=purchase.completed_at,
                reversed_at=purchase.reversed_at,
            )
        )

    def mark_attempt(self, purchase_id: str, at: datetime) -> None:
        self.conn.execute(purchases.update().where(purchases.c.purchase_id == purchase_id).values(attempted_at=at))

    def pending_before(self, cutoff: datetime, *, limit: int) -> list[Purchase]:
        rows = self.conn.execute(
            sa.select(purchases)
            .where(purchases.c.status == "pending", purchases.c.attempted_at < cutoff)
            .order_by(purchases.c.attempted_at)
            .limit(limit)
        ).all()
        return [Purchase(**row._mapping) for row in rows]

    def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        query = sa.select(purchases).where(purchases.c.purchase_id == purchase_id)
        row = self.conn.execute(lock_for_update(query, self.conn) if for_update else query).first()
        return Purchase(**row._mapping) if row else None

    def of_user(self, user_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Purchase]:
        query = sa.select(purchases).where(purchases.c.user_id == user_id)
        if before is not None:
            query = query.where(sa.tuple_(purchases.c.created_at, purchases.c.purchase_id) < sa.tuple_(*before))
        rows = self.conn.execute(
            query.order_by(purchases.c.created_at.desc(), purchases.c.purchase_id.desc()).limit(limit)
        ).all()
        return [Purchase(**row._mapping) for row in rows]


class SqlAlchemyChargebackRepository(AbstractChargebackRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, chargeback: Chargeback) -> None:
        self.conn.execute(chargebacks.insert().values(**vars(chargeback)))
