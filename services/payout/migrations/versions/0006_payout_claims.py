"""per-withdrawal fenced claims, lookup schedule and holds; creators under review

Each claim of a withdrawal bumps its claim_version (the fencing token a send and a settle
re-check); an unknown outcome is looked up at its own next_check_at; a withdrawal the rules or a
mismatched processor answer stop is held (diamonds still reserved) for an operator.

Revision ID: 0006_payout_claims
Revises: 0005_trace_context

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime

revision: str = "0006_payout_claims"
down_revision: str | Sequence[str] | None = "0005_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("creators") as batch:
        batch.add_column(sa.Column("under_review", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("withdrawals") as batch:
        batch.add_column(sa.Column("claim_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_check_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_send_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("held_reason", sa.String(length=200), nullable=True))
        batch.drop_constraint("ck_withdrawals_status", type_="check")
        batch.create_check_constraint(
            "ck_withdrawals_status", "status IN ('pending', 'processing', 'held', 'completed', 'failed')"
        )
        batch.drop_constraint("ck_withdrawals_attempts", type_="check")
        batch.create_check_constraint("ck_withdrawals_attempts", "attempts >= 0 AND claim_version >= 0")
        batch.create_check_constraint("ck_withdrawals_held_reason", "status <> 'held' OR held_reason IS NOT NULL")
        batch.create_index("ix_withdrawals_due", ["status", "next_check_at"])
    # A withdrawal in flight before this: its last send may have been at its last claim.
    op.execute("UPDATE withdrawals SET last_send_until = claimed_until WHERE status = 'processing' AND attempts > 0")


def downgrade() -> None:
    raise NotImplementedError("forward only: a held withdrawal has no status to go back to")
