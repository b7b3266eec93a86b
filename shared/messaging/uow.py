"""The unit of work: one database transaction, the repositories on it, and the transactional outbox
it writes (events are rows written with the business change, published later by
shared.messaging.relay).

One owner per transaction: the entry point begins and commits it, a handler only works inside
it and never commits. `with transaction(uow):` (or `run(handler, ..., uow=uow)`) is how an
entry point (a view, a worker step, a CLI command) runs one; the HTTP idempotency wrapper and
the inbox own a connection's transaction themselves and hand a unit of work joined to it
(`conn=`), whose commit is theirs. A handler
that needs two transactions around an outside call (a card charge, a payout) is a process: it
says so, and runs each step in `with transaction(uow):`. Services subclass `SqlUnitOfWork` to
attach repositories in `_start`.

`Outbox.add` runs inside the unit of work's transaction; `republish_since` and `backlog` are what
the ops CLI and the health checks ask of the outbox table.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shared import faults
from shared.clock import utcnow
from shared.contracts import Contract, Envelope, envelope_to_dict, new_event, new_events
from shared.observability import tracing

U = TypeVar("U", bound="AbstractUnitOfWork")
T = TypeVar("T")


def commit(tx) -> None:
    """Commit a transaction that holds a business change (fault points on either side, when the
    fault suite arms any: every request commits, and production arms none)."""
    if faults.ARMED:
        faults.point("uow.before_commit")
    tx.commit()
    if faults.ARMED:
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


# -- the outbox -----------------------------------------------------------------------------------
class Outbox:
    """Writes events into the outbox table on the unit of work's connection."""

    def __init__(self, conn: Connection, table: sa.Table, source: str):
        self._conn = conn
        self._table = table
        self._source = source

    def add(self, contract: Contract, data: dict) -> str:
        row = self.row(contract, data)
        self.insert(row)
        return row["event_id"]

    def row(self, contract: Contract, data: dict) -> dict:
        """The outbox row of an event (validated against its contract), for `insert` or for a
        statement that writes it together with the business change."""
        written_by = _written_by()
        envelope, key = new_event(contract, source=self._source, data=data)
        return self._row(contract, envelope, key, written_by)

    def event_rows(self, contract: Contract, datas: list[dict]) -> list[dict]:
        """`row` for many events of one contract built alike by our own code (shared.contracts
        `new_events`: the contract checked once per shape); the same span wrote them all."""
        written_by = _written_by()
        events = new_events(contract, source=self._source, datas=datas)
        return [self._row(contract, envelope, key, written_by) for envelope, key in events]

    def _row(self, contract: Contract, envelope: Envelope, key: str, written_by: dict) -> dict:
        return {
            "event_id": envelope.event_id,
            "topic": contract.topic,
            "message_key": key,
            "payload": orjson.dumps(envelope_to_dict(envelope)).decode(),  # compact, as json.dumps with separators
            "event_type": contract.type,  # the relay's `type` header: the topic without its version
            **written_by,
            "created_at": envelope.occurred_at,
            "published_at": None,
        }

    def insert(self, row: dict) -> None:
        self._conn.execute(_insert(self._table), row)


def _written_by() -> dict:
    """The span that writes an event, as its row stores it: the message continues its trace."""
    return {"trace_id": tracing.current_trace_id(), **tracing.carried()}


@cache
def _insert(table: sa.Table):
    """The outbox insert, built once per table (no RETURNING of the generated id)."""
    return table.insert().inline()


def republish_since(conn: Connection, table: sa.Table, since: datetime) -> int:
    """In the caller's transaction, mark every event created, or published, at or after `since`
    for publishing again (consumers dedupe): one written before `since` but published after it, by
    a relay that lagged, was in the broker's lost data too."""
    since_then = sa.or_(table.c.created_at >= since, table.c.published_at >= since)
    return conn.execute(table.update().where(since_then).values(published_at=None)).rowcount


def backlog(conn: Connection, table: sa.Table) -> tuple[int, float]:
    """Unpublished events and the age in seconds of the oldest."""
    count, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(table.c.published_at.is_(None))
    ).one()
    age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0  # UTCDateTime: aware
    return int(count), age
