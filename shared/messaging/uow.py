"""The unit of work: one database transaction, the repositories on it, and the outbox.

Handlers use it as `with uow: ...; uow.commit()`; leaving the block without commit rolls back.
Given a `conn`, it joins a transaction that someone else owns (the consumer's batch), and
then commit and rollback are theirs. Services subclass it to attach repositories in `_start`.
"""

from __future__ import annotations

import abc

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shared import faults
from shared.messaging.outbox import Outbox


def commit(tx) -> None:
    """Commit a transaction that holds a business change (fault points on either side)."""
    faults.point("uow.before_commit")
    tx.commit()
    faults.point("uow.after_commit")


class AbstractUnitOfWork(abc.ABC):
    """What a handler knows of a unit of work; each service's subclass names its repositories.
    Leaving `with uow:` without `commit()` rolls back."""

    outbox: Outbox

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Keep everything done since `with uow:` began."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Drop everything done since `with uow:` began and not committed."""


class SqlUnitOfWork:
    def __init__(self, engine: Engine | None, outbox_table: sa.Table, source: str, conn: Connection | None = None):
        self.engine = engine
        self._outbox_table = outbox_table
        self._source = source
        self._joined = conn
        self.conn: Connection | None = None

    def __enter__(self):
        if self._joined is not None:
            self.conn, self._tx = self._joined, None
        else:
            self.conn = self.engine.connect()
            self._tx = self.conn.begin()
        self.outbox = Outbox(self.conn, self._outbox_table, self._source)
        self._start(self.conn)
        return self

    def _start(self, conn: Connection) -> None:
        """Attach repositories to the connection (overridden by each service)."""

    def commit(self) -> None:
        if self._tx is not None:
            commit(self._tx)

    def rollback(self) -> None:
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, *exc_info) -> None:
        if self._joined is not None:
            return
        try:
            self.rollback()
        finally:
            self.conn.close()
            self.conn = None
