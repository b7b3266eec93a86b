"""The payout service's unit of work: creators, accounts, earnings, withdrawals and the outbox in
one transaction.

`AbstractUnitOfWork` is what the handlers know; `SqlAlchemyUnitOfWork` is production's, and
tests/fakes/payout.py holds the in-memory fake. Its transaction is its owner's (shared.messaging.uow): an entry point
opens and commits it, handlers only work inside; a uow may be opened again, never nested.
"""

from __future__ import annotations

import abc

from services.payout.adapters.orm import tables
from services.payout.adapters.repository import (
    AbstractAccountRepository,
    AbstractCreatorRepository,
    AbstractEarningsRepository,
    AbstractWithdrawalRepository,
    SqlAlchemyAccountRepository,
    SqlAlchemyCreatorRepository,
    SqlAlchemyEarningsRepository,
    SqlAlchemyWithdrawalRepository,
)
from shared.auth.onbehalf import UserGrant, replayed
from shared.clock import utcnow
from shared.db.tables import record_used_grant
from shared.messaging.uow import AbstractUnitOfWork as BaseUnitOfWork
from shared.messaging.uow import SqlUnitOfWork


class AbstractUnitOfWork(BaseUnitOfWork):
    creators: AbstractCreatorRepository
    accounts: AbstractAccountRepository
    earnings: AbstractEarningsRepository
    withdrawals: AbstractWithdrawalRepository

    @abc.abstractmethod
    def spend_grant(self, grant: UserGrant | None) -> None:
        """Record a user grant as used, in this transaction (shared.auth.onbehalf); 403 if it was."""


class SqlAlchemyUnitOfWork(SqlUnitOfWork, AbstractUnitOfWork):
    """On the engine's own connection, or joined to `conn`'s transaction (then its owner commits)."""

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "payout", conn=conn)

    def _start(self, conn) -> None:
        self.creators = SqlAlchemyCreatorRepository(conn)
        self.accounts = SqlAlchemyAccountRepository(conn)
        self.earnings = SqlAlchemyEarningsRepository(conn)
        self.withdrawals = SqlAlchemyWithdrawalRepository(conn)

    def spend_grant(self, grant: UserGrant | None) -> None:
        if grant is not None and not record_used_grant(self.conn, tables["used_grants"], grant.row(utcnow())):
            raise replayed()
