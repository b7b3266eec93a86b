"""Transactional outbox: events are rows written with the business change, published later.

`Outbox.add` runs inside the caller's transaction; `republish_since` and `backlog` are what the
ops CLI and the health checks ask of the table. Publishing is shared.messaging.relay's.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shared.clock import utcnow
from shared.contracts import Contract, Envelope, envelope_to_dict, new_event, new_events
from shared.observability import tracing
from shared.observability.logs import current_trace_id


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
        return self._row(contract, *new_event(contract, source=self._source, data=data), _written_by())

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
            "payload": json.dumps(envelope_to_dict(envelope), separators=(",", ":")),
            "event_type": event_type(contract.topic),
            **written_by,
            "created_at": envelope.occurred_at,
            "published_at": None,
        }

    def insert(self, row: dict) -> None:
        self._conn.execute(_insert(self._table), row)


def _written_by() -> dict:
    """The span that writes an event, as its row stores it: the message continues its trace."""
    return {"trace_id": current_trace_id(), **tracing.carried()}


@cache
def _insert(table: sa.Table):
    """The outbox insert, built once per table (no RETURNING of the generated id)."""
    return table.insert().inline()


def event_type(topic: str) -> str:
    """The `type` header of a topic's events: the topic without its version (gift.sent.v1 -> gift.sent)."""
    return topic.rsplit(".v", 1)[0]


def republish_since(engine: Engine, table: sa.Table, since: datetime) -> int:
    """Mark every event created at or after `since` for publishing again (consumers dedupe)."""
    with engine.begin() as conn:
        return conn.execute(table.update().where(table.c.created_at >= since).values(published_at=None)).rowcount


def backlog(conn: Connection, table: sa.Table) -> tuple[int, float]:
    """Unpublished events and the age in seconds of the oldest."""
    count, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(table.c.published_at.is_(None))
    ).one()
    age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0  # UTCDateTime: aware
    return int(count), age
