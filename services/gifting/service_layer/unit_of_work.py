"""Gifting's unit of work: one transaction with wallets, ledger, gifts and the outbox."""
from __future__ import annotations

from services.gifting.adapters.orm import tables
from services.gifting.adapters.repository import GiftRepository, LedgerRepository, WalletRepository
from shared.uow import SqlUnitOfWork


class GiftingUnitOfWork(SqlUnitOfWork):
    wallets: WalletRepository
    ledger: LedgerRepository
    gifts: GiftRepository

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "gifting", conn=conn)

    def _start(self, conn) -> None:
        self.wallets = WalletRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.gifts = GiftRepository(conn, self.outbox)
