"""Counters of the outbox and inbox rows retention prunes, per topic (for the auditor).

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import create_pruned_events, drop_pruned_events

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_pruned_events(op)


def downgrade() -> None:
    drop_pruned_events(op)
