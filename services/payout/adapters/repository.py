"""The payout service's repositories: the abstract ports the handlers use, and their SQLAlchemy
Core adapters on the unit of work's connection (the in-memory fakes are in tests/fakes).
Withdrawals' claims are fenced here: every write of a claimed withdrawal is conditional on its
claim token."""

from __future__ import annotations

import abc
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.payout.adapters.orm import creator_accounts, creators, earnings, payout_method_changes, withdrawals
from services.payout.domain.model import (
    FAILED,
    HELD,
    PENDING,
    PROCESSING,
    Creator,
    CreatorAccount,
    Earning,
    PayoutMethodChange,
    Withdrawal,
)
from shared.db.engines import StaleRead, lock_for_update
from shared.db.upserts import add_to_columns, insert_ignore, insert_ignore_many


class AbstractCreatorRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, creator_id: str) -> Creator | None:
        """A registered creator."""

    @abc.abstractmethod
    def add(self, creator: Creator) -> bool:
        """Insert a new creator; False if one with this id exists already."""

    @abc.abstractmethod
    def get_for_update(self, creator_id: str) -> Creator | None:
        """A registered creator, locked until the transaction ends."""

    @abc.abstractmethod
    def change_method(self, change: PayoutMethodChange) -> None:
        """Point the creator's payouts elsewhere and record the change, in the caller's transaction."""

    @abc.abstractmethod
    def method_changes(self, creator_id: str) -> list[PayoutMethodChange]:
        """A creator's payout method changes, newest first."""

    @abc.abstractmethod
    def set_under_review(self, creator_id: str, under_review: bool) -> bool:
        """Put a creator under review or clear it; False if no such creator."""

    @abc.abstractmethod
    def lift_method_hold(self, change: PayoutMethodChange) -> None:
        """End the creator's hold at `change.hold_lifted_at` and record the lift on the change."""


class AbstractAccountRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, creator_id: str) -> CreatorAccount | None:
        """A creator's diamond account, if any gift ever credited it."""

    @abc.abstractmethod
    def get_or_create_for_update(self, creator_id: str) -> CreatorAccount:
        """The account, created empty if missing, locked until the transaction ends."""

    @abc.abstractmethod
    def credit_many(self, diamonds_by_creator: dict[str, int]) -> None:
        """Add diamonds to many creators' accounts (created as needed) in one statement batch."""

    @abc.abstractmethod
    def save(self, account: CreatorAccount) -> None:
        """Store the account if nobody changed it since it was read (else StaleRead); bumps its version."""


class AbstractEarningsRepository(abc.ABC):
    @abc.abstractmethod
    def add_many(self, earned: list[Earning]) -> set[str]:
        """Record gifts' diamonds in one statement, skipping gifts recorded already (or listed
        before); returns the gift_tx_ids that were new."""

    @abc.abstractmethod
    def pending(self, creator_id: str, now: datetime) -> int:
        """Diamonds still on hold."""


class SqlAlchemyCreatorRepository(AbstractCreatorRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def get(self, creator_id: str) -> Creator | None:
        row = self.conn.execute(sa.select(creators).where(creators.c.creator_id == creator_id)).first()
        return Creator(**row._mapping) if row else None

    def add(self, creator: Creator) -> bool:
        return insert_ignore(self.conn, creators, vars(creator), ["creator_id"])

    def get_for_update(self, creator_id: str) -> Creator | None:
        row = self.conn.execute(
            lock_for_update(sa.select(creators).where(creators.c.creator_id == creator_id), self.conn)
        ).first()
        return Creator(**row._mapping) if row else None

    def change_method(self, change: PayoutMethodChange) -> None:
        self.conn.execute(
            creators.update()
            .where(creators.c.creator_id == change.creator_id)
            .values(
                payout_method=change.new_method,
                payout_account=change.new_account,
                updated_at=change.changed_at,
                method_hold_until=change.hold_until,
            )
        )
        self.conn.execute(payout_method_changes.insert().values(vars(change)))

    def method_changes(self, creator_id: str) -> list[PayoutMethodChange]:
        c = payout_method_changes.c
        rows = self.conn.execute(
            sa.select(payout_method_changes)
            .where(c.creator_id == creator_id)
            .order_by(c.changed_at.desc(), c.change_id.desc())
        )
        return [PayoutMethodChange(**row._mapping) for row in rows]

    def lift_method_hold(self, change: PayoutMethodChange) -> None:
        self.conn.execute(
            creators.update()
            .where(creators.c.creator_id == change.creator_id)
            .values(method_hold_until=change.hold_lifted_at)
        )
        self.conn.execute(
            payout_method_changes.update()
            .where(payout_method_changes.c.change_id == change.change_id)
            .values(
                hold_lifted_at=change.hold_lifted_at,
                hold_lifted_by=change.hold_lifted_by,
                hold_lift_requested_by=change.hold_lift_requested_by,
                hold_lift_reason=change.hold_lift_reason,
            )
        )

    def set_under_review(self, creator_id: str, under_review: bool) -> bool:
        result = self.conn.execute(
            creators.update().where(creators.c.creator_id == creator_id).values(under_review=under_review)
        )
        return result.rowcount == 1


class SqlAlchemyAccountRepository(AbstractAccountRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def get(self, creator_id: str) -> CreatorAccount | None:
        row = self.conn.execute(sa.select(creator_accounts).where(creator_accounts.c.creator_id == creator_id)).first()
        return CreatorAccount(**row._mapping) if row else None

    def get_or_create_for_update(self, creator_id: str) -> CreatorAccount:
        insert_ignore(self.conn, creator_accounts, vars(CreatorAccount(creator_id=creator_id)), ["creator_id"])
        row = self.conn.execute(
            lock_for_update(sa.select(creator_accounts).where(creator_accounts.c.creator_id == creator_id), self.conn)
        ).one()
        return CreatorAccount(**row._mapping)

    def credit_many(self, diamonds_by_creator: dict[str, int]) -> None:
        add_to_columns(
            self.conn,
            creator_accounts,
            "creator_id",
            {creator: {"credited_diamonds": n} for creator, n in diamonds_by_creator.items()},
            ["credited_diamonds"],
            {"reserved_diamonds": 0, "withdrawn_diamonds": 0, "version": 0},
        )

    def save(self, account: CreatorAccount) -> None:
        c = creator_accounts.c
        result = self.conn.execute(
            creator_accounts.update()
            .where(c.creator_id == account.creator_id, c.version == account.version)
            .values(
                credited_diamonds=account.credited_diamonds,
                reserved_diamonds=account.reserved_diamonds,
                withdrawn_diamonds=account.withdrawn_diamonds,
                version=account.version + 1,
            )
        )
        if result.rowcount != 1:
            raise StaleRead(f"account {account.creator_id} changed")
        account.version += 1


class SqlAlchemyEarningsRepository(AbstractEarningsRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def add_many(self, earned: list[Earning]) -> set[str]:
        rows = [vars(earning) for earning in earned]
        return insert_ignore_many(self.conn, earnings, rows, ["gift_tx_id"], returning="gift_tx_id")

    def pending(self, creator_id: str, now: datetime) -> int:
        return int(
            self.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(earnings.c.diamonds), 0)).where(
                    earnings.c.creator_id == creator_id, earnings.c.available_at > now
                )
            ).scalar()
        )


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
    def send_waiting_at(self, creator_id: str, at: datetime) -> int:
        """Withdrawals of the creator still waiting out a hold are sent from `at`; how many."""

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

    def send_waiting_at(self, creator_id: str, at: datetime) -> int:
        c = withdrawals.c
        return self.conn.execute(
            withdrawals.update()
            .where(c.creator_id == creator_id, c.status == PENDING, c.send_after > at)
            .values(send_after=at)
        ).rowcount

    def held(self, *, limit: int) -> list[Withdrawal]:
        c = withdrawals.c
        query = sa.select(withdrawals).where(c.status == HELD).order_by(c.created_at).limit(limit)
        return [Withdrawal(**row._mapping) for row in self.conn.execute(query)]
