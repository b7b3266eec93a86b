"""Gifting's unit of work: wallets, ledger, gifts and the outbox in one transaction.

`AbstractUnitOfWork` is what the handlers know; `SqlAlchemyUnitOfWork` is production's, and
tests/fakes/gifting.py holds the in-memory fake. Its transaction is its owner's (shared.messaging.uow): an entry point
opens and commits it, handlers only work inside; a uow may be opened again, never nested.
"""

from __future__ import annotations

from services.gifting.adapters.gift_batch import SqlAlchemyGiftBatchRepository
from services.gifting.adapters.orm import tables
from services.gifting.adapters.repository import (
    AbstractGiftBatchRepository,
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
    gift_batches: AbstractGiftBatchRepository


class SqlAlchemyUnitOfWork(SqlUnitOfWork, AbstractUnitOfWork):
    """On the engine's own connection, or joined to `conn`'s transaction (then its owner commits).
    `key_row`: the request's key, for the gift's statement to claim (adapters/repository.py)."""

    def __init__(self, engine, conn=None, key_row: dict | None = None):
        super().__init__(engine, tables["outbox"], "gifting", conn=conn)
        self._key_row = key_row

    def _start(self, conn) -> None:
        self.wallets = SqlAlchemyWalletRepository(conn)
        self.ledger = SqlAlchemyLedgerRepository(conn)
        self.gifts = SqlAlchemyGiftRepository(conn, self.outbox, self._key_row)
        self.gift_batches = SqlAlchemyGiftBatchRepository(conn)
