"""The purchase service's unit of work: purchases, chargebacks and the outbox in one transaction."""
from __future__ import annotations

from services.purchase.adapters.orm import tables
from services.purchase.adapters.repository import ChargebackRepository, PurchaseRepository
from shared.uow import SqlUnitOfWork


class PurchaseUnitOfWork(SqlUnitOfWork):
    purchases: PurchaseRepository
    chargebacks: ChargebackRepository

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "purchase", conn=conn)

    def _start(self, conn) -> None:
        self.purchases = PurchaseRepository(conn)
        self.chargebacks = ChargebackRepository(conn)
