"""The purchase service's unit of work: purchases, chargebacks and the outbox in one transaction."""
from __future__ import annotations

from services.purchase.adapters.orm import tables
from services.purchase.adapters.repository import ChargebackRepository, PurchaseRepository
from shared.idempotency import Claim, KeyStore
from shared.uow import SqlUnitOfWork

_KEYS = KeyStore(tables["idempotency_keys"])


class PurchaseUnitOfWork(SqlUnitOfWork):
    purchases: PurchaseRepository
    chargebacks: ChargebackRepository

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "purchase", conn=conn)

    def _start(self, conn) -> None:
        self.purchases = PurchaseRepository(conn)
        self.chargebacks = ChargebackRepository(conn)

    def attach_key(self, claim: Claim, resource_id: str) -> None:
        """Tie what this transaction makes to the request's key (ClaimLost if another attempt took it)."""
        _KEYS.attach(self.conn, claim, resource_id)
