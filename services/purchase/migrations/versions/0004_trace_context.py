"""W3C trace context on outbox rows and purchases

Each event's message continues the trace of the span that wrote it,
and the reconciler continues the trace of the request that made the purchase

Revision ID: 0004_trace_context
Revises: 0003

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import add_trace_columns, drop_trace_columns

revision: str = "0004_trace_context"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
TABLES = ("outbox", "purchases")


def upgrade() -> None:
    for table in TABLES:
        add_trace_columns(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        drop_trace_columns(op, table)
