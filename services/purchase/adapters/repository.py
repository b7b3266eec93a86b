"""Reading and writing purchases and chargebacks with SQLAlchemy Core."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.purchase.adapters.orm import buyers, chargebacks, purchases
from services.purchase.domain.model import COMPLETED, DECLINED, Chargeback, Purchase
from shared.audit import sum_of
from shared.db import insert_ignore, lock_for_update


class PurchaseRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def lock_buyer(self, user_id: str) -> None:
        """Serialise purchase starts per buyer (the 24-hour cap is a read-then-write)."""
        insert_ignore(self.conn, buyers, {"user_id": user_id}, ["user_id"])
        self.conn.execute(lock_for_update(sa.select(buyers.c.user_id).where(buyers.c.user_id == user_id), self.conn))

    def coins_bought_since(self, user_id: str, since: datetime) -> int:
        """Coins bought or being paid for since `since` (declined purchases do not count)."""
        total = self.conn.execute(sa.select(sa.func.coalesce(sa.func.sum(purchases.c.coins), 0)).where(
            purchases.c.user_id == user_id, purchases.c.created_at >= since,
            purchases.c.status != DECLINED)).scalar()
        return int(total)

    def add(self, purchase: Purchase) -> None:
        self.conn.execute(purchases.insert().values(**vars(purchase)))

    def update(self, purchase: Purchase) -> None:
        self.conn.execute(purchases.update().where(purchases.c.purchase_id == purchase.purchase_id).values(
            status=purchase.status, processor_ref=purchase.processor_ref, decline_code=purchase.decline_code,
            completed_at=purchase.completed_at, reversed_at=purchase.reversed_at))

    def mark_attempt(self, purchase_id: str, at: datetime) -> None:
        """A charge is about to be sent (again) for this purchase."""
        self.conn.execute(purchases.update().where(purchases.c.purchase_id == purchase_id).values(attempted_at=at))

    def pending_before(self, cutoff: datetime, *, limit: int) -> list[Purchase]:
        """Pending purchases whose last charge attempt is older than `cutoff`, oldest first."""
        rows = self.conn.execute(sa.select(purchases).where(purchases.c.status == "pending",
                                                            purchases.c.attempted_at < cutoff)
                                 .order_by(purchases.c.attempted_at).limit(limit)).all()
        return [Purchase(**row._mapping) for row in rows]

    def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        query = sa.select(purchases).where(purchases.c.purchase_id == purchase_id)
        row = self.conn.execute(lock_for_update(query, self.conn) if for_update else query).first()
        return Purchase(**row._mapping) if row else None

    def of_user(self, user_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Purchase]:
        query = sa.select(purchases).where(purchases.c.user_id == user_id)
        if before is not None:
            query = query.where(sa.tuple_(purchases.c.created_at, purchases.c.purchase_id) < sa.tuple_(*before))
        rows = self.conn.execute(query.order_by(purchases.c.created_at.desc(), purchases.c.purchase_id.desc())
                                 .limit(limit)).all()
        return [Purchase(**row._mapping) for row in rows]


class ChargebackRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, chargeback: Chargeback) -> None:
        self.conn.execute(chargebacks.insert().values(**vars(chargeback)))



def totals(conn: Connection, *, overdue_before: datetime) -> dict:
    """`overdue_before`: a purchase still pending whose last charge attempt was before this is overdue."""
    paid = purchases.c.status.in_([COMPLETED, "reversed"])
    return {
        "coins_bought": sum_of(conn, sa.select(sa.func.sum(purchases.c.coins)).where(paid)),
        "coins_reversed": sum_of(conn, sa.select(sa.func.sum(chargebacks.c.coins))),
        "purchases_completed": sum_of(conn, sa.select(sa.func.count()).where(paid)),
        "purchases_pending": sum_of(conn, sa.select(sa.func.count()).where(purchases.c.status == "pending")),
        "purchases_overdue": sum_of(conn, sa.select(sa.func.count()).where(
            purchases.c.status == "pending", purchases.c.attempted_at < overdue_before)),
        "chargebacks": sum_of(conn, sa.select(sa.func.count()).select_from(chargebacks)),
    }
