"""Each pending purchase's own lookup schedule and claim; held purchases; chargebacks recorded
before their purchase settles

Revision ID: 0005
Revises: 0004_trace_context

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_purchases_pending", table_name="purchases")
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("next_check_at", UTCDateTime()))
        batch.add_column(sa.Column("checks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("claim_token", sa.String(36)))
        batch.add_column(sa.Column("claimed_until", UTCDateTime()))
        batch.add_column(sa.Column("hold_reason", sa.String(200)))
    op.execute("UPDATE purchases SET next_check_at = attempted_at")  # every pending one is due at once
    with op.batch_alter_table("purchases") as batch:
        batch.alter_column("next_check_at", existing_type=UTCDateTime(), nullable=False)
        batch.drop_constraint("ck_purchases_status", type_="check")
        batch.create_check_constraint(
            "ck_purchases_status_held", "status IN ('pending', 'completed', 'declined', 'reversed', 'held')"
        )
        batch.create_check_constraint("ck_purchases_checks", "checks >= 0")
        batch.create_check_constraint("ck_purchases_held_has_reason", "status != 'held' OR hold_reason IS NOT NULL")
    for name, column, status in (
        ("ix_purchases_due", "next_check_at", "pending"),
        ("ix_purchases_held", "created_at", "held"),
    ):
        op.create_index(
            name,
            "purchases",
            [column],
            postgresql_where=sa.text(f"status = '{status}'"),
            sqlite_where=sa.text(f"status = '{status}'"),
        )
    with op.batch_alter_table("chargebacks") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="reversed"))
        batch.add_column(sa.Column("settled_at", UTCDateTime()))
    op.execute("UPDATE chargebacks SET settled_at = created_at")  # every earlier one reversed its purchase at once
    with op.batch_alter_table("chargebacks") as batch:
        batch.create_check_constraint("ck_chargebacks_status", "status IN ('pending', 'reversed', 'void')")
        batch.create_check_constraint("ck_chargebacks_settled_at", "(status = 'pending') = (settled_at IS NULL)")


def downgrade() -> None:
    raise NotImplementedError("forward only: held purchases and pending chargebacks have no earlier form")
