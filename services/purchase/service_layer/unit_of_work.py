"""The purchase service's unit of work: purchases, chargebacks, the request's key and the outbox
in one transaction.

`AbstractUnitOfWork` is what the handlers know; `SqlAlchemyUnitOfWork` is production's, and
tests/fakes/purchase.py holds the in-memory fake. Its transaction is its owner's (shared.messaging.uow): an entry point
opens and commits it, handlers only work inside; a uow may be opened again, never nested.
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
from shared.idempotency.store import KeyStore
from shared.messaging.uow import AbstractUnitOfWork as BaseUnitOfWork
from shared.messaging.uow import SqlUnitOfWork

_KEYS = KeyStore(tables["idempotency_keys"])


class AbstractUnitOfWork(BaseUnitOfWork):
    purchases: AbstractPurchaseRepository
    chargebacks: AbstractChargebackRepository

    @abc.abstractmethod
    def attach_key(self, resource_id: str, *, token: str) -> None:
        """Tie what this transaction makes to the request's key, held by the attempt `token`
        (shared.idempotency.ClaimLost if another attempt took it)."""


class SqlAlchemyUnitOfWork(SqlUnitOfWork, AbstractUnitOfWork):
    """On the engine's own connection, or joined to `conn`'s transaction (then its owner commits).
    `key`: the (caller, Idempotency-Key) of the request it serves, if any."""

    def __init__(self, engine, conn=None, key: tuple[str, str] | None = None):
        super().__init__(engine, tables["outbox"], "purchase", conn=conn)
        self._key = key

    def _start(self, conn) -> None:
        self.purchases = SqlAlchemyPurchaseRepository(conn)
        self.chargebacks = SqlAlchemyChargebackRepository(conn)

    def attach_key(self, resource_id: str, *, token: str) -> None:
        caller, key = self._key
        _KEYS.attach(self.conn, caller=caller, key=key, owner=token, resource_id=resource_id)
