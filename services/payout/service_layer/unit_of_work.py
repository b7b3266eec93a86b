"""The payout service's unit of work."""
from __future__ import annotations

from services.payout.adapters.orm import tables
from services.payout.adapters.repository import (AccountRepository, CreatorRepository, EarningsRepository,
                                                 WithdrawalRepository)
from shared.uow import SqlUnitOfWork


class PayoutUnitOfWork(SqlUnitOfWork):
    creators: CreatorRepository
    accounts: AccountRepository
    earnings: EarningsRepository
    withdrawals: WithdrawalRepository

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "payout", conn=conn)

    def _start(self, conn) -> None:
        self.creators = CreatorRepository(conn)
        self.accounts = AccountRepository(conn)
        self.earnings = EarningsRepository(conn)
        self.withdrawals = WithdrawalRepository(conn)
