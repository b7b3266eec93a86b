"""The infrastructure tables every service's database has (idempotency keys, inbox, outbox, and
retention's pruned-event counters), defined once: each service's Alembic migrations create them,
change them (`keys_with_owners`, the trace context columns of the outbox and of the rows a later
process takes up) and drop them through these, so the three schemas cannot drift apart."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db.engines import UTCDateTime


def create_messaging_tables(op) -> None:
    """Idempotency keys, inbox and outbox, as the first revision of every service made them."""
    _create_idempotency_keys(op)
    _create_inbox(op)
    _create_outbox(op)


def _create_idempotency_keys(op) -> None:
    """As 0001 made them; `keys_with_owners` adds the owner and the resource."""
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name="ck_idempotency_state"),
        sa.PrimaryKeyConstraint("caller", "key"),
    )


def _create_inbox(op) -> None:
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def _create_outbox(op) -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_unpublished",
            ["id"],
            unique=False,
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        )


def drop_messaging_tables(op) -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_unpublished",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        )
        batch_op.drop_index("ix_outbox_created_at")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("idempotency_keys")


def keys_with_owners(op) -> None:
    """The step every service takes (0002; payout: 0003): an idempotency key's row names the attempt
    that holds or made it (`owner`) and what the request made (`resource_id`), and may be `open`
    (a failed attempt's: reusable by the same request only)."""
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("owner", sa.String(36)))
        batch.add_column(sa.Column("resource_id", sa.String(36)))
    op.execute("UPDATE idempotency_keys SET owner = 'migrated' WHERE state = 'in_flight'")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("ck_idempotency_state", type_="check")
        batch.create_check_constraint("ck_idempotency_state", "state IN ('in_flight', 'open', 'done')")
        batch.create_check_constraint("ck_idempotency_owned", "state != 'in_flight' OR owner IS NOT NULL")


def drop_resource_key(op, table: str) -> None:
    """A resource no longer carries its request's key ("caller:key" in one column was ambiguous):
    the key's row names the resource instead."""
    with op.batch_alter_table(table) as batch:
        batch.drop_column("idempotency_key")


def create_pruned_events(op) -> None:
    """Counters of the outbox and inbox rows retention prunes, per topic (for the auditor)."""
    op.create_table(
        "pruned_events",
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("outbox_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("inbox_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("outbox_rows >= 0 AND inbox_rows >= 0", name="ck_pruned_events_counts"),
        sa.PrimaryKeyConstraint("topic"),
    )


def drop_pruned_events(op) -> None:
    op.drop_table("pruned_events")


def add_trace_columns(op, table: str) -> None:
    """A row's W3C trace context (shared.db.tables.trace_columns): the outbox's, or a job's."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))
        batch.add_column(sa.Column("tracestate", sa.String(length=512), nullable=True))


def drop_trace_columns(op, table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_column("tracestate")
        batch.drop_column("traceparent")


def create_used_grants(op) -> None:
    """The spent user grants of a service that takes them (shared.db.tables.used_grants_table)."""
    op.create_table(
        "used_grants",
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=100), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name="pk_used_grants"),
    )
    op.create_index("ix_used_grants_expires_at", "used_grants", ["expires_at"])


def drop_used_grants(op) -> None:
    op.drop_index("ix_used_grants_expires_at", table_name="used_grants")
    op.drop_table("used_grants")


# The relay's wake-up (shared.messaging.relay): a statement-level trigger, so that a transaction
# writing many events notifies once; PostgreSQL delivers it at commit, and folds the repeats of one
# transaction into one.
OUTBOX_CHANNEL = "coins_outbox"
_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION coins_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
    RETURN NULL;
END $$
"""
# A transaction that notified takes PostgreSQL's one notify lock at its commit and keeps it until
# the commit is flushed: every notifying commit of the server waits for the one before it. So the
# outbox notifies only while its relay waits for a commit, which the relay says by holding this
# advisory lock (shared.messaging.relay_wakeup); a writer that finds it free holds it shared until
# its own commit, so the relay cannot take it, and start waiting, before that commit is visible to
# the fetch it makes once it holds it. The value is stored in the trigger: never change it.
RELAY_WAITING_LOCK = 0x636F696E  # "coin"
_NOTIFY_WHEN_WAITING_FUNCTION = f"""
CREATE OR REPLACE FUNCTION coins_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared({RELAY_WAITING_LOCK}) THEN
        PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
    END IF;
    RETURN NULL;
END $$
"""


def outbox_wakeup_and_cdc(op) -> None:
    """The outbox notifies its relay on commit (PostgreSQL; SQLite keeps polling), carries each event's
    type for CDC's headers, and gets `outbox_cdc`: the switch between the relay and Debezium."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("event_type", sa.String(length=200), nullable=True))
    op.create_table(
        "outbox_cdc",
        sa.Column("slot", sa.String(length=63), nullable=False),
        sa.Column("start_lsn", sa.String(length=32), nullable=True),
        sa.Column("switched_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slot"),
    )
    op.create_table(
        "outbox_cdc_beat",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(
            "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
            "FOR EACH STATEMENT EXECUTE FUNCTION coins_outbox_notify()"
        )


def drop_outbox_wakeup_and_cdc(op) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS coins_outbox_notify()")
    op.drop_table("outbox_cdc_beat")
    op.drop_table("outbox_cdc")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("event_type")


def outbox_notifies_only_a_waiting_relay(op) -> None:
    """The outbox's trigger notifies only while its relay waits (RELAY_WAITING_LOCK): a busy relay
    fetches again anyway, and a NOTIFY would serialise the commits on the server's notify lock."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_WHEN_WAITING_FUNCTION)


def outbox_notifies_every_commit(op) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)


_RETENTION_INDEXES = (
    ("ix_inbox_processed_at", "inbox", "processed_at"),
    ("ix_idempotency_keys_created_at", "idempotency_keys", "created_at"),
)


def index_retention_times(op) -> None:
    """The times retention looks rows up by (shared.db.retention): without them every batch of a
    prune reads the whole inbox or key table. On PostgreSQL built CONCURRENTLY, outside the
    migration's transaction: the tables are written on every gift and event meanwhile, and a plain
    CREATE INDEX would hold those writes for as long as it reads a 90-day inbox."""
    with op.get_context().autocommit_block():
        for name, table, column in _RETENTION_INDEXES:
            op.create_index(name, table, [column], postgresql_concurrently=True)


def drop_retention_time_indexes(op) -> None:
    with op.get_context().autocommit_block():
        for name, table, _column in _RETENTION_INDEXES:
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
