"""payout method changes: every change of where a creator's payouts go, with who and when

Revision ID: 0002_payout_method_changes
Revises: 0001

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime

revision: str = "0002_payout_method_changes"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payout_method_changes",
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("old_method", sa.String(length=16), nullable=False),
        sa.Column("old_account", sa.String(length=254), nullable=False),
        sa.Column("new_method", sa.String(length=16), nullable=False),
        sa.Column("new_account", sa.String(length=254), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("new_method IN ('bank', 'paypal')", name="ck_method_changes_method"),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.creator_id"]),
        sa.PrimaryKeyConstraint("change_id"),
    )
    op.create_index("ix_method_changes_creator", "payout_method_changes", ["creator_id", "changed_at"])


def downgrade() -> None:
    op.drop_index("ix_method_changes_creator", table_name="payout_method_changes")
    op.drop_table("payout_method_changes")
