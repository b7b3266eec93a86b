"""Indexes on the times retention looks rows up by (inbox.processed_at, idempotency_keys.created_at)

Revision ID: 0008_retention_indexes
Revises: 0007_notify_a_waiting_relay

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import drop_retention_time_indexes, index_retention_times

revision: str = "0008_retention_indexes"
down_revision: str | Sequence[str] | None = "0007_notify_a_waiting_relay"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    index_retention_times(op)


def downgrade() -> None:
    drop_retention_time_indexes(op)
