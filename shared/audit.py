"""Read-side figures every service reports for the auditor: events published and applied."""
from __future__ import annotations

import sqlalchemy as sa
from marshmallow import Schema, fields
from sqlalchemy.engine import Connection


class EventCountsSchema(Schema):
    """Per topic: events written to this service's outbox, published, and applied by its consumer."""
    events_written = fields.Dict(keys=fields.String(), values=fields.Integer())
    events_published = fields.Dict(keys=fields.String(), values=fields.Integer())
    events_applied = fields.Dict(keys=fields.String(), values=fields.Integer())


def sum_of(conn: Connection, query) -> int:
    """An aggregate query's value as an int (0 where there are no rows)."""
    return int(conn.execute(query).scalar() or 0)


def event_counts(conn: Connection, tables: dict[str, sa.Table]) -> dict[str, dict[str, int]]:
    outbox, inbox = tables["outbox"], tables["inbox"]
    published = conn.execute(sa.select(outbox.c.topic, sa.func.count()).where(outbox.c.published_at.is_not(None))
                             .group_by(outbox.c.topic)).all()
    written = conn.execute(sa.select(outbox.c.topic, sa.func.count()).group_by(outbox.c.topic)).all()
    applied = conn.execute(sa.select(inbox.c.topic, sa.func.count()).group_by(inbox.c.topic)).all()
    return {"events_written": {t: int(n) for t, n in written},
            "events_published": {t: int(n) for t, n in published},
            "events_applied": {t: int(n) for t, n in applied}}
