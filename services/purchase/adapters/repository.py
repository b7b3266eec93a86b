"""Purchase's repositories: the abstract ports the handlers use, and their SQLAlchemy Core
adapters on the unit of work's connection (the in-memory fakes are in tests/fakes)."""

from __future__ import annotations

import abc
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.purchase.adapters.orm import buyers, chargebacks, purchases
from services.purchase.domain.model import CHARGEBACK_PENDING, DECLINED, HELD, PENDING, Chargeback, Purchase
from shared.db.engines import lock_for_update
from shared.db.upserts import insert_ignore


class AbstractPurchaseRepository(abc.ABC):
    """Purchases, and the claims on pending ones: a pending purchase is settled only by the
    holder of a live claim on it (the request charging it, or one reconciler looking it up),
    checked by the settling statement itself."""

    @abc.abstractmethod
    def lock_buyer(self, user_id: str) -> None:
        """Serialise purchase starts per buyer (the 24-hour cap is a read-then-write)."""

    @abc.abstractmethod
    def coins_bought_since(self, user_id: str, since: datetime) -> int:
        """Coins bought or being paid for since `since` (declined purchases do not count)."""

    @abc.abstractmethod
    def add(self, purchase: Purchase, *, claim_token: str, claimed_until: datetime) -> None:
        """Store a new pending purchase, claimed by its request."""

    @abc.abstractmethod
    def claim(self, purchase_id: str, *, token: str, until: datetime, now: datetime, due: bool = False) -> bool:
        """Take the claim on a pending purchase unless another holds it live (`due`: and only if
        its next lookup is due); False if not taken."""

    @abc.abstractmethod
    def settle(
        self, purchase: Purchase, *, token: str, now: datetime, attempted_before: datetime | None = None
    ) -> bool:
        """Store a pending purchase's settlement (status and what came with it), only while `token`
        holds a live claim on it (and, with `attempted_before`, its last charge attempt is older);
        the claim ends with it. False: nothing stored."""

    @abc.abstractmethod
    def release(self, purchase_id: str, *, token: str, next_check_at: datetime | None = None) -> None:
        """Give up the claim, still pending; `next_check_at`: also the time of its next lookup,
        after one more that settled nothing."""

    @abc.abstractmethod
    def update(self, purchase: Purchase) -> None:
        """Store a settled purchase's status and what came with it (reference, codes, times)."""

    @abc.abstractmethod
    def mark_attempt(self, purchase_id: str, at: datetime, *, token: str) -> bool:
        """A charge is about to be sent (again) for this purchase, by the holder of a live claim
        on it; False if `token` holds none (then nothing may be sent)."""

    @abc.abstractmethod
    def due(self, now: datetime, *, limit: int) -> list[Purchase]:
        """Pending purchases whose next lookup is due and that nobody holds, soonest due first."""

    @abc.abstractmethod
    def held(self, *, limit: int) -> list[Purchase]:
        """Purchases held for review, oldest first."""

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

    @abc.abstractmethod
    def of_purchase(self, purchase_id: str) -> Chargeback | None:
        """The chargeback reported against a purchase, if any."""

    @abc.abstractmethod
    def update(self, chargeback: Chargeback) -> None:
        """Store a chargeback's status and when it settled."""


# Everything of a purchase but its claim, which only the statements here read.
_PURCHASE = [c for c in purchases.c if c.name not in ("claim_token", "claimed_until")]


def _free(now: datetime):
    return sa.or_(purchases.c.claimed_until.is_(None), purchases.c.claimed_until <= now)


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

    def add(self, purchase: Purchase, *, claim_token: str, claimed_until: datetime) -> None:
        self.conn.execute(
            purchases.insert().values(**vars(purchase), claim_token=claim_token, claimed_until=claimed_until)
        )

    def claim(self, purchase_id: str, *, token: str, until: datetime, now: datetime, due: bool = False) -> bool:
        p = purchases.c
        query = purchases.update().where(
            p.purchase_id == purchase_id, p.status == PENDING, sa.or_(p.claim_token == token, _free(now))
        )
        if due:
            query = query.where(p.next_check_at <= now)
        return self.conn.execute(query.values(claim_token=token, claimed_until=until)).rowcount == 1

    def settle(
        self, purchase: Purchase, *, token: str, now: datetime, attempted_before: datetime | None = None
    ) -> bool:
        p = purchases.c
        query = purchases.update().where(
            p.purchase_id == purchase.purchase_id, p.status == PENDING, p.claim_token == token, p.claimed_until > now
        )
        if attempted_before is not None:
            query = query.where(p.attempted_at < attempted_before)
        settled = query.values(**self._settlement(purchase), claim_token=None, claimed_until=None)
        return self.conn.execute(settled).rowcount == 1

    def release(self, purchase_id: str, *, token: str, next_check_at: datetime | None = None) -> None:
        p = purchases.c
        values = {"claim_token": None, "claimed_until": None}
        if next_check_at is not None:
            values.update(next_check_at=next_check_at, checks=p.checks + 1)
        self.conn.execute(
            purchases.update().where(p.purchase_id == purchase_id, p.claim_token == token).values(**values)
        )

    def update(self, purchase: Purchase) -> None:
        self.conn.execute(
            purchases.update()
            .where(purchases.c.purchase_id == purchase.purchase_id)
            .values(**self._settlement(purchase))
        )

    @staticmethod
    def _settlement(purchase: Purchase) -> dict:
        names = ("status", "processor_ref", "decline_code", "completed_at", "reversed_at", "hold_reason")
        return {name: getattr(purchase, name) for name in names}

    def mark_attempt(self, purchase_id: str, at: datetime, *, token: str) -> bool:
        p = purchases.c
        marked = purchases.update().where(
            p.purchase_id == purchase_id, p.status == PENDING, p.claim_token == token, p.claimed_until > at
        )
        return self.conn.execute(marked.values(attempted_at=at)).rowcount == 1

    def due(self, now: datetime, *, limit: int) -> list[Purchase]:
        p = purchases.c
        rows = self.conn.execute(
            sa.select(*_PURCHASE)
            .where(p.status == PENDING, p.next_check_at <= now, _free(now))
            .order_by(p.next_check_at)
            .limit(limit)
        ).all()
        return [Purchase(**row._mapping) for row in rows]

    def held(self, *, limit: int) -> list[Purchase]:
        rows = self.conn.execute(
            sa.select(*_PURCHASE).where(purchases.c.status == HELD).order_by(purchases.c.created_at).limit(limit)
        ).all()
        return [Purchase(**row._mapping) for row in rows]

    def get(self, purchase_id: str, *, for_update: bool = False) -> Purchase | None:
        query = sa.select(*_PURCHASE).where(purchases.c.purchase_id == purchase_id)
        row = self.conn.execute(lock_for_update(query, self.conn) if for_update else query).first()
        return Purchase(**row._mapping) if row else None

    def of_user(self, user_id: str, *, limit: int, before: tuple[datetime, str] | None) -> list[Purchase]:
        query = sa.select(*_PURCHASE).where(purchases.c.user_id == user_id)
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

    def of_purchase(self, purchase_id: str) -> Chargeback | None:
        row = self.conn.execute(sa.select(chargebacks).where(chargebacks.c.purchase_id == purchase_id)).first()
        return Chargeback(**row._mapping) if row else None

    def update(self, chargeback: Chargeback) -> None:
        self.conn.execute(
            chargebacks.update()
            .where(chargebacks.c.chargeback_id == chargeback.chargeback_id, chargebacks.c.status == CHARGEBACK_PENDING)
            .values(status=chargeback.status, settled_at=chargeback.settled_at)
        )
