"""spent user grants

A user grant authorises one call: its (iss, jti) is recorded with the gift it paid for.

Revision ID: 0005_used_grants
Revises: 0004_trace_context

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import create_used_grants, drop_used_grants

revision: str = "0005_used_grants"
down_revision: str | Sequence[str] | None = "0004_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_used_grants(op)


def downgrade() -> None:
    drop_used_grants(op)
