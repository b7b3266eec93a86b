"""The withdrawals' repository: the abstract port the payout use cases know, and its SQLAlchemy
Core adapter on the unit of work's connection (the in-memory fake is in tests/fakes/payout.py).
Claims are fenced here: every write of a claimed withdrawal is conditional on its claim token."""

from __future__ import annotations

import abc
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.payout.adapters.orm import withdrawals
from services.payout.domain.model import FAILED, HELD, PENDING, PROCESSING, Withdrawal
from shared.db.engines import lock_for_update


class AbstractWithdrawalRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, withdrawal: Withdrawal) -> None:
        """Store a new withdrawal."""

    @abc.abstractmethod
    def get(self, withdrawal_id: str, *, for_update: bool = False) -> Withdrawal | None:
        """One withdrawal; `for_update` locks it until the transaction ends."""

    @abc.abstractmethod
    def gross_since(self, creator_id: str, since: datetime) -> int:
        """Cents asked for since `since`, failed withdrawals excepted (their money came back)."""

    @abc.abstractmethod
    def update(self, withdrawal: Withdrawal, *, claim_version: int) -> bool:
        """Store a withdrawal's status, claim and outcome if its claim token is still
        `claim_version` (the one it was read with); False, storing nothing, if it moved on."""

    @abc.abstractmethod
    def next_due(self, now: datetime) -> Withdrawal | None:
        """The withdrawal most due for a worker: pending, or processing with nobody's claim on it
        and its next check come; by when it became due. Locked (others skip it) until the
        transaction ends, where the database can."""

    @abc.abstractmethod
    def fence_send(self, withdrawal_id: str, *, claim_version: int, now: datetime, until: datetime) -> bool:
        """In one conditional statement: if the claim `claim_version` is still live (unchanged and
        its lease not over), renew its lease to `until` for a send and count the attempt; else False."""

    @abc.abstractmethod
    def held(self, *, limit: int) -> list[Withdrawal]:
        """Withdrawals held for an operator, oldest first."""


class SqlAlchemyWithdrawalRepository(AbstractWithdrawalRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, withdrawal: Withdrawal) -> None:
        self.conn.execute(withdrawals.insert().values(**vars(withdrawal)))

    def get(self, withdrawal_id: str, *, for_update: bool = False) -> Withdrawal | None:
        query = sa.select(withdrawals).where(withdrawals.c.withdrawal_id == withdrawal_id)
        row = self.conn.execute(lock_for_update(query, self.conn) if for_update else query).first()
        return Withdrawal(**row._mapping) if row else None

    def gross_since(self, creator_id: str, since: datetime) -> int:
        return int(
            self.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(withdrawals.c.gross_minor), 0)).where(
                    withdrawals.c.creator_id == creator_id,
                    withdrawals.c.created_at >= since,
                    withdrawals.c.status != FAILED,
                )
            ).scalar()
        )

    def update(self, w: Withdrawal, *, claim_version: int) -> bool:
        c = withdrawals.c
        result = self.conn.execute(
            withdrawals.update()
            .where(c.withdrawal_id == w.withdrawal_id, c.claim_version == claim_version)
            .values(
                status=w.status,
                claimed_until=w.claimed_until,
                processor_ref=w.processor_ref,
                failure_reason=w.failure_reason,
                settled_at=w.settled_at,
                attempts=w.attempts,
                claim_version=w.claim_version,
                next_check_at=w.next_check_at,
                last_send_until=w.last_send_until,
                held_reason=w.held_reason,
            )
        )
        return result.rowcount == 1

    def next_due(self, now: datetime) -> Withdrawal | None:
        c = withdrawals.c
        query = (
            sa.select(withdrawals)
            .where(
                c.status.in_([PENDING, PROCESSING]),
                sa.or_(c.claimed_until.is_(None), c.claimed_until < now),
                sa.or_(c.next_check_at.is_(None), c.next_check_at <= now),
                sa.or_(c.send_after.is_(None), c.send_after <= now),
            )
            .order_by(sa.func.coalesce(c.next_check_at, c.created_at), c.withdrawal_id)
            .limit(1)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = self.conn.execute(query).first()
        return Withdrawal(**row._mapping) if row else None

    def fence_send(self, withdrawal_id: str, *, claim_version: int, now: datetime, until: datetime) -> bool:
        c = withdrawals.c
        result = self.conn.execute(
            withdrawals.update()
            .where(
                c.withdrawal_id == withdrawal_id,
                c.claim_version == claim_version,
                c.status == PROCESSING,
                c.claimed_until > now,
            )
            .values(claimed_until=until, last_send_until=until, attempts=c.attempts + 1)
        )
        return result.rowcount == 1

    def held(self, *, limit: int) -> list[Withdrawal]:
        c = withdrawals.c
        query = sa.select(withdrawals).where(c.status == HELD).order_by(c.created_at).limit(limit)
        return [Withdrawal(**row._mapping) for row in self.conn.execute(query)]
