"""The payout service's repositories: the abstract ports the handlers use, and their SQLAlchemy
Core adapters on the unit of work's connection (the in-memory fakes are in tests/fakes); the
withdrawals' is in withdrawal_repository.py."""

from __future__ import annotations

import abc
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.payout.adapters.orm import creator_accounts, creators, earnings, payout_method_changes
from services.payout.domain.model import (
    Creator,
    CreatorAccount,
    Earning,
    PayoutMethodChange,
)
from shared.db.engines import lock_for_update
from shared.db.errors import StaleRead
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
