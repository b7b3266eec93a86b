"""Gifting's unit of work: wallets, ledger, gifts and the outbox in one transaction.

`AbstractUnitOfWork` is what the handlers know; `SqlAlchemyUnitOfWork` is production's, and
tests/fakes/gifting.py holds the in-memory fake. `with uow: ...; uow.commit()` is one
transaction (leaving without commit rolls back); a uow may be entered again, never nested.
"""

from __future__ import annotations

from services.gifting.adapters.orm import tables
from services.gifting.adapters.repository import (
    AbstractGiftRepository,
    AbstractLedgerRepository,
    AbstractWalletRepository,
    SqlAlchemyGiftRepository,
    SqlAlchemyLedgerRepository,
    SqlAlchemyWalletRepository,
)
from shared.messaging.uow import AbstractUnitOfWork as BaseUnitOfWork
from shared.messaging.uow import SqlUnitOfWork


class AbstractUnitOfWork(BaseUnitOfWork):
    wallets: AbstractWalletRepository
    ledger: AbstractLedgerRepository
    gifts: AbstractGiftRepository


class SqlAlchemyUnitOfWork(SqlUnitOfWork, AbstractUnitOfWork):
    """On the engine's own connection, or joined to `conn`'s transaction (then its owner commits)."""

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "gifting", conn=conn)

    def _start(self, conn) -> None:
        self.wallets = SqlAlchemyWalletRepository(conn)
        self.ledger = SqlAlchemyLedgerRepository(conn)
        self.gifts = SqlAlchemyGiftRepository(conn, self.outbox)
