"""The purchase service's unit of work: purchases, chargebacks, the request's key and the outbox
in one transaction.

`AbstractUnitOfWork` is what the handlers know; `SqlAlchemyUnitOfWork` is production's, and
tests/fakes/purchase.py holds the in-memory fake. `with uow: ...; uow.commit()` is one
transaction (leaving without commit rolls back); a uow may be entered again, never nested.
"""

from __future__ import annotations

import abc

from services.purchase.adapters.orm import tables
from services.purchase.adapters.repository import (
    AbstractChargebackRepository,
    AbstractPurchaseRepository,
    SqlAlchemyChargebackRepository,
    SqlAlchemyPurchaseRepository,
)
from shared.idempotency import Claim
from shared.idempotency_store import KeyStore
from shared.messaging.uow import AbstractUnitOfWork as BaseUnitOfWork
from shared.messaging.uow import SqlUnitOfWork

_KEYS = KeyStore(tables["idempotency_keys"])


class AbstractUnitOfWork(BaseUnitOfWork):
    purchases: AbstractPurchaseRepository
    chargebacks: AbstractChargebackRepository

    @abc.abstractmethod
    def attach_key(self, claim: Claim, resource_id: str) -> None:
        """Tie what this transaction makes to the request's key (ClaimLost if another attempt took it)."""


class SqlAlchemyUnitOfWork(SqlUnitOfWork, AbstractUnitOfWork):
    """On the engine's own connection, or joined to `conn`'s transaction (then its owner commits)."""

    def __init__(self, engine, conn=None):
        super().__init__(engine, tables["outbox"], "purchase", conn=conn)

    def _start(self, conn) -> None:
        self.purchases = SqlAlchemyPurchaseRepository(conn)
        self.chargebacks = SqlAlchemyChargebackRepository(conn)

    def attach_key(self, claim: Claim, resource_id: str) -> None:
        _KEYS.attach(self.conn, claim, resource_id)
