"""Reads every service's audit figures and ops-only listings share: an aggregate's value, the
events written, published and applied over the whole history, and keyset pages."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def sum_of(conn: Connection, query) -> int:
    """An aggregate query's value as an int (0 where there are no rows)."""
    return int(conn.execute(query).scalar() or 0)


def event_counts(conn: Connection, tables: dict[str, sa.Table]) -> dict[str, dict[str, int]]:
    """Over the whole history: the rows there are plus those retention pruned (counted per topic
    in the transaction that deleted them; a pruned outbox row had been published)."""
    outbox, inbox, pruned = tables["outbox"], tables["inbox"], tables["pruned_events"]
    published = conn.execute(
        sa.select(outbox.c.topic, sa.func.count()).where(outbox.c.published_at.is_not(None)).group_by(outbox.c.topic)
    ).all()
    written = conn.execute(sa.select(outbox.c.topic, sa.func.count()).group_by(outbox.c.topic)).all()
    applied = conn.execute(sa.select(inbox.c.topic, sa.func.count()).group_by(inbox.c.topic)).all()
    counts = {
        "events_written": Counter({t: int(n) for t, n in written}),
        "events_published": Counter({t: int(n) for t, n in published}),
        "events_applied": Counter({t: int(n) for t, n in applied}),
    }
    for topic, outbox_rows, inbox_rows in conn.execute(
        sa.select(pruned.c.topic, pruned.c.outbox_rows, pruned.c.inbox_rows)
    ).all():
        counts["events_written"][topic] += int(outbox_rows)
        counts["events_published"][topic] += int(outbox_rows)
        counts["events_applied"][topic] += int(inbox_rows)
    return {name: {t: n for t, n in by_topic.items() if n} for name, by_topic in counts.items()}


def keyset_rows(conn: Connection, query, key: sa.Column, *, cursor: str | None, limit: int):
    """Up to `limit` rows of `query` after `cursor` in `key` order, and the next page's cursor (None
    after the last page): (rows as dicts, cursor)."""
    if cursor is not None:
        query = query.where(key > cursor)
    rows = [dict(row._mapping) for row in conn.execute(query.order_by(key).limit(limit + 1))]
    return rows[:limit], (rows[limit - 1][key.name] if len(rows) > limit else None)
