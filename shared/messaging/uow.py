"""The unit of work: one database transaction, the repositories on it, and the outbox.

One owner per transaction: the entry point begins and commits it, a handler only works inside
it and never commits. `with transaction(uow):` (or `run(handler, ..., uow=uow)`) is how an
entry point (a view, a worker step, a CLI command) runs one; the HTTP idempotency wrapper and
the inbox own a connection's transaction themselves and hand a unit of work joined to it
(`conn=`), whose commit is theirs. A handler
that needs two transactions around an outside call (a card charge, a payout) is a process: it
says so, and runs each step in `with transaction(uow):`. Services subclass `SqlUnitOfWork` to
attach repositories in `_start`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shared import faults
from shared.messaging.outbox import Outbox

U = TypeVar("U", bound="AbstractUnitOfWork")
T = TypeVar("T")


def commit(tx) -> None:
    """Commit a transaction that holds a business change (fault points on either side)."""
    faults.point("uow.before_commit")
    tx.commit()
    faults.point("uow.after_commit")


@contextmanager
def transaction(uow: U) -> Iterator[U]:
    """The owner's transaction: open `uow`, run the block, commit if it ends without an error
    (roll back if it raises). The only place a unit of work is committed."""
    with uow:
        yield uow
        uow._commit()


def run(handler: Callable[..., T], *args, uow: AbstractUnitOfWork, **kwargs) -> T:
    """An entry point's one transaction around one handler: `handler(*args, uow=uow, **kwargs)`
    inside `transaction(uow)`."""
    with transaction(uow):
        return handler(*args, uow=uow, **kwargs)


class AbstractUnitOfWork(abc.ABC):
    """What a handler knows of a unit of work: its repositories and outbox, open while its
    owner's transaction is. Leaving `with uow:` without the owner's commit rolls back."""

    outbox: Outbox

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    @abc.abstractmethod
    def _commit(self) -> None:
        """Keep everything done since `with uow:` began (the owner's, through `transaction`)."""

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

    def _commit(self) -> None:
        if self._tx is not None:  # joined: the transaction's owner commits it
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
