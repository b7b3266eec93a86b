"""In-memory stand-ins for each service's unit of work, so handlers run with no database and no broker.

A fake unit of work keeps its service's rows in plain containers. Each `with uow:` works on a
copy of what is committed: only its owner's commit (`shared.messaging.uow.transaction` or `run`)
keeps the copy, leaving without it drops it, as a real transaction would, so a refused request,
or a handler whose owner fails after it, leaves nothing behind here either. Outside a
transaction the repositories are gone: a handler run without an owner fails. The outbox is the
real `Outbox` (each event checked against its contract) writing rows into a list.
"""

from __future__ import annotations

import abc
import copy
import json

from shared.contracts import parse_envelope
from shared.messaging.uow import Outbox


class FakeOutbox(Outbox):
    """The real outbox's rows and contract checks, kept in a list instead of a table."""

    def __init__(self, source: str, rows: list[dict]):
        super().__init__(conn=None, table=None, source=source)
        self.rows = rows

    def insert(self, row: dict) -> None:
        self.rows.append(row)


class FakeUnitOfWork(abc.ABC):
    """The transaction mechanics of every fake; a service's fake says which containers it has
    (`empty`) and puts its fake repositories on them (`attach`)."""

    source = "fake"

    def __init__(self):
        self.committed: dict = {"outbox": [], **self.empty()}
        self.commits = 0

    @abc.abstractmethod
    def empty(self) -> dict:
        """The service's containers, empty: name -> dict or list."""

    @abc.abstractmethod
    def attach(self, data: dict) -> None:
        """Put the service's fake repositories on `data`, the transaction's working copy."""

    def __enter__(self):
        self._data = copy.deepcopy(self.committed)
        before = set(vars(self))
        self.outbox = FakeOutbox(self.source, self._data["outbox"])
        self.attach(self._data)
        self._open = set(vars(self)) - before  # the repositories, gone when the transaction ends
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()
        for name in self._open:
            delattr(self, name)

    def _commit(self) -> None:
        self.committed = copy.deepcopy(self._data)
        self.commits += 1

    def rollback(self) -> None:
        self._data = copy.deepcopy(self.committed)

    def events(self) -> list[tuple[str, dict]]:
        """The committed events, oldest first, as (type, data)."""
        payloads = [json.loads(row["payload"]) for row in self.committed["outbox"]]
        return [(p["type"], p["data"]) for p in payloads]

    def consumed(self) -> list[tuple[str, dict]]:
        """The committed events as a consumer reads them: each checked and loaded by its contract."""
        parsed = [parse_envelope(json.loads(row["payload"])) for row in self.committed["outbox"]]
        return [(envelope.type, data) for envelope, data in parsed]
