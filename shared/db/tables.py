"""Tables every service has in its own database: outbox, inbox, idempotency keys, and retention's
pruned-event counters.

Each service calls `add_infrastructure_tables(metadata)`; its Alembic migrations create them
through shared.db.infra_migrations.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shared.db.engines import BigId, UTCDateTime
from shared.db.upserts import insert_ignore


def trace_columns() -> list[sa.Column]:
    """Where a row keeps the trace of the span that made it (shared.observability.tracing.carried), for the process
    that takes it up later: an outbox row's message, a withdrawal's payout, a purchase's reconciliation."""
    return [sa.Column("traceparent", sa.String(55)), sa.Column("tracestate", sa.String(512))]


def add_infrastructure_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """The outbox, inbox, idempotency key and pruned-event tables, added to a service's metadata."""
    return {
        "outbox": _outbox(metadata),
        "inbox": _inbox(metadata),
        "idempotency_keys": _idempotency_keys(metadata),
        "pruned_events": _pruned_events(metadata),
        "outbox_cdc": _outbox_cdc(metadata),
        "outbox_cdc_beat": _outbox_cdc_beat(metadata),
    }


def _outbox(metadata: sa.MetaData) -> sa.Table:
    """Events written with the business change, for the relay (shared.messaging.uow, shared.messaging.relay)."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        # The `type` header (the topic without its version); a column so that CDC can place it too.
        sa.Column("event_type", sa.String(200)),
        sa.Column("trace_id", sa.String(64)),
        *trace_columns(),  # the W3C trace context of the span that wrote it, sent in the message's headers
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime),
        sa.Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
        sa.Index("ix_outbox_created_at", "created_at"),
    )


def _outbox_cdc(metadata: sa.MetaData) -> sa.Table:
    """A row here while change data capture (Debezium) publishes the outbox instead of the relay
    (coinsctl.cdc): the relay fetches nothing while it exists."""
    return sa.Table(
        "outbox_cdc",
        metadata,
        sa.Column("slot", sa.String(63), primary_key=True),
        sa.Column("start_lsn", sa.String(32)),  # where the slot began: CDC publishes what committed after it
        sa.Column("switched_at", UTCDateTime, nullable=False),
    )


def _outbox_cdc_beat(metadata: sa.MetaData) -> sa.Table:
    """Debezium's heartbeat writes here (and its connector drops these rows' changes): a change in
    its publication every second, so that the slot's confirmed position moves on while the outbox
    is idle (WAL is freed; coinsctl.cdc.mark_streamed sees its mark passed)."""
    return sa.Table(
        "outbox_cdc_beat",
        metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("beat_at", UTCDateTime, nullable=False),
    )


def _inbox(metadata: sa.MetaData) -> sa.Table:
    """Events applied, one row per (consumer, event): the consumer's dedupe (shared.messaging.inbox)."""
    return sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
        sa.Index("ix_inbox_processed_at", "processed_at"),  # retention finds what is due without a scan
    )


def _idempotency_keys(metadata: sa.MetaData) -> sa.Table:
    """One row per (caller, Idempotency-Key) (shared.idempotency)."""
    return sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("caller", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(36)),  # the attempt that holds the key, or made its answer
        sa.Column("resource_id", sa.String(36)),  # what the request made: resumed by a retry, rendered again
        sa.Column("lease_until", UTCDateTime, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime),
        sa.CheckConstraint("state IN ('in_flight', 'open', 'done')", name="ck_idempotency_state"),
        sa.CheckConstraint("state != 'in_flight' OR owner IS NOT NULL", name="ck_idempotency_owned"),
        # Retention finds what is due without a scan, through the one time no write changes.
        sa.Index("ix_idempotency_keys_created_at", "created_at"),
    )


def _pruned_events(metadata: sa.MetaData) -> sa.Table:
    """Outbox and inbox rows removed by retention (shared.db.retention), per topic: the auditor's
    counts are rows + these, so they mean the same before and after a prune."""
    return sa.Table(
        "pruned_events",
        metadata,
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("outbox_rows", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("inbox_rows", sa.BigInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("outbox_rows >= 0 AND inbox_rows >= 0", name="ck_pruned_events_counts"),
    )


def used_grants_table(metadata: sa.MetaData) -> sa.Table:
    """User grants spent (shared.auth.onbehalf), one row each: its primary key makes a grant single-use.
    For the services that take grants; pruned after the grant expired (shared.db.retention)."""
    return sa.Table(
        "used_grants",
        metadata,
        sa.Column("issuer", sa.String(100), nullable=False),
        sa.Column("jti", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(100), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name="pk_used_grants"),
        sa.Index("ix_used_grants_expires_at", "expires_at"),
    )


def record_used_grant(conn: Connection, table: sa.Table, row: dict) -> bool:
    """Record a user grant as spent (its `UserGrant.row`), in the transaction of the effect it
    authorises: False if it was spent already (on PostgreSQL a concurrent spend of the same grant
    waits for the first to commit or roll back)."""
    return insert_ignore(conn, table, row, ["issuer", "jti"])
