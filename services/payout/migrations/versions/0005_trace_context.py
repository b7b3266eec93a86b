"""W3C trace context on outbox rows and withdrawals

Each event's message continues the trace of the span that wrote it,
and the payout worker continues the trace of the request that made the withdrawal

Revision ID: 0005_trace_context
Revises: 0004

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import add_trace_columns, drop_trace_columns

revision: str = "0005_trace_context"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
TABLES = ("outbox", "withdrawals")


def upgrade() -> None:
    for table in TABLES:
        add_trace_columns(op, table)


def downgrade() -> None:
    for table in reversed(TABLES):
        drop_trace_columns(op, table)
