"""Retention: pruning published outbox rows, inbox rows and idempotency keys past their windows.

The auditor compares events written, published and applied per topic over the whole history, so
every pruned outbox or inbox row is added to `pruned_events` (per topic) in the same transaction
that deletes it: `shared.db.reads.event_counts` reads rows + pruned, before and after a prune alike.
Never pruned: an unpublished outbox row, or anything inside its window. The inbox window must
outlast every way a copy of an event can come again: the broker keeps events for the topics'
retention and dead letters (`dlq replay`) for the dead-letter topics'; `outbox republish` sends
again what the outbox still holds, and that copy is kept for the topics' retention in turn. An
event whose inbox row is gone would be applied twice. Hence inbox >= each of those (the outbox
window plus the topics' retention for a republished copy), and at least a day (`Windows`
refuses less, and every process checks its settings at start-up); idempotency keys at least 24
hours (as Stripe keeps them). A spent user grant (shared.auth.onbehalf) is kept until no verifier
can accept it again: past its `exp` plus the largest clock leeway a service may allow
(`GRANT_AFTER_EXPIRY`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from shared.clock import utcnow
from shared.kafka.settings import KafkaSettings

MIN_KEY_WINDOW = timedelta(hours=24)
MIN_INBOX_WINDOW = timedelta(hours=24)
TOPIC_RETENTION = timedelta(hours=KafkaSettings.retention_hours)
DLQ_RETENTION = timedelta(hours=KafkaSettings.dlq_retention_hours)
GRANT_AFTER_EXPIRY = timedelta(seconds=600)  # > COINS_AUTH_LEEWAY_SECONDS' maximum (300)


class RetentionError(ValueError):
    """A window that would break a guarantee (named in the message)."""


@dataclass(frozen=True)
class Windows:
    # After it was written (once published): a row can be sent again (`outbox republish`) only
    # that long after it was first applied at the earliest, however often it is republished.
    outbox: timedelta = timedelta(days=7)
    inbox: timedelta = DLQ_RETENTION  # after processing
    idempotency_keys: timedelta = timedelta(hours=72)  # after its last use (made, held, answered)
    # Not pruned here: how long the broker keeps a copy of an event that may come again.
    topics: timedelta = TOPIC_RETENTION
    dead_letters: timedelta = DLQ_RETENTION

    def __post_init__(self):
        if min(self.outbox, self.topics, self.dead_letters) < timedelta(0):
            raise RetentionError("outbox, topic and dead-letter retention must not be negative")
        comes_back = {
            "24 hours": MIN_INBOX_WINDOW,
            f"the outbox window ({_hours(self.outbox)}, `outbox republish`) and the topics' retention "
            f"({_hours(self.topics)}) of the copy it sends": self.outbox + self.topics,
            f"the topics' retention ({_hours(self.topics)})": self.topics,
            f"the dead letters' retention ({_hours(self.dead_letters)}, `dlq replay`)": self.dead_letters,
        }
        longest = max(comes_back, key=comes_back.get)
        if self.inbox < comes_back[longest]:
            raise RetentionError(
                f"inbox window ({_hours(self.inbox)}) must be at least {longest}: a copy of an event "
                "that comes back after its inbox row is gone is applied twice"
            )
        if self.idempotency_keys < MIN_KEY_WINDOW:
            raise RetentionError("idempotency key window must be at least 24 hours")


def _hours(window: timedelta) -> str:
    return f"{window.total_seconds() / 3600:g} h"


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int
    idempotency_keys: int
    used_grants: int = 0


def prune(
    engine: Engine,
    tables: dict[str, sa.Table],
    windows: Windows,
    *,
    now: datetime | None = None,
    batch_size: int = 5000,
) -> Pruned:
    """Delete what is past its window, in batches of one short transaction each."""
    now = now or utcnow()
    return Pruned(
        outbox=_in_batches(engine, lambda conn: _prune_outbox(conn, tables, now - windows.outbox, batch_size)),
        inbox=_in_batches(engine, lambda conn: _prune_inbox(conn, tables, now - windows.inbox, batch_size)),
        idempotency_keys=_in_batches(
            engine,
            lambda conn: prune_idempotency_keys(
                conn, tables["idempotency_keys"], cutoff=now - windows.idempotency_keys, limit=batch_size
            ),
        ),
        used_grants=_in_batches(engine, lambda conn: _prune_used_grants(conn, tables, now, batch_size)),
    )


def _in_batches(engine: Engine, step) -> int:
    total = 0
    while True:
        with engine.begin() as conn:
            deleted = step(conn)
        total += deleted
        if deleted == 0:
            return total


def _prune_outbox(conn: Connection, tables: dict[str, sa.Table], cutoff: datetime, limit: int) -> int:
    t = tables["outbox"]
    due = t.c.published_at.is_not(None) & (t.c.created_at < cutoff)
    ids = sa.select(t.c.id).where(due).order_by(t.c.id).limit(limit).scalar_subquery()
    # The condition again in the DELETE: a row re-marked unpublished meanwhile (`outbox republish`) stays.
    topics = conn.execute(t.delete().where(t.c.id.in_(ids), due).returning(t.c.topic)).scalars().all()
    _count(conn, tables["pruned_events"], "outbox_rows", Counter(topics))
    return len(topics)


def _prune_inbox(conn: Connection, tables: dict[str, sa.Table], cutoff: datetime, limit: int) -> int:
    t = tables["inbox"]
    due = t.c.processed_at < cutoff
    keys = sa.select(t.c.consumer, t.c.event_id).where(due).limit(limit)
    topics = (
        conn.execute(t.delete().where(sa.tuple_(t.c.consumer, t.c.event_id).in_(keys), due).returning(t.c.topic))
        .scalars()
        .all()
    )
    _count(conn, tables["pruned_events"], "inbox_rows", Counter(topics))
    return len(topics)


def prune_idempotency_keys(conn: Connection, table: sa.Table, *, cutoff: datetime, limit: int) -> int:
    """Keys last used before `cutoff`: made, held (their lease) and answered before it. A key is
    used again after it was made (a refusal that may pass leaves it open for the same request,
    answered days later): the window runs from its answer, or a retry of that answer would run
    the request again. Found through `created_at`'s index, the column no write changes."""
    t = table
    due = (
        (t.c.created_at < cutoff)
        & (t.c.lease_until < cutoff)
        & (t.c.completed_at.is_(None) | (t.c.completed_at < cutoff))
    )
    keys = sa.select(t.c.caller, t.c.key).where(due).limit(limit)
    return conn.execute(t.delete().where(sa.tuple_(t.c.caller, t.c.key).in_(keys), due)).rowcount


def _prune_used_grants(conn: Connection, tables: dict[str, sa.Table], now: datetime, limit: int) -> int:
    """Spent grants no verifier accepts any more (for the services that take grants)."""
    t = tables.get("used_grants")
    if t is None:
        return 0
    due = t.c.expires_at < now - GRANT_AFTER_EXPIRY
    keys = sa.select(t.c.issuer, t.c.jti).where(due).limit(limit)
    return conn.execute(t.delete().where(sa.tuple_(t.c.issuer, t.c.jti).in_(keys), due)).rowcount


def _count(conn: Connection, counters: sa.Table, column: str, by_topic: Counter) -> None:
    """Add pruned rows to their topics' counters (an upsert; both dialects spell it alike)."""
    if not by_topic:
        return
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(counters)
    rows = [{"topic": topic, "outbox_rows": 0, "inbox_rows": 0, column: n} for topic, n in by_topic.items()]
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[counters.c.topic], set_={column: counters.c[column] + insert.excluded[column]}
        ),
        rows,
    )
