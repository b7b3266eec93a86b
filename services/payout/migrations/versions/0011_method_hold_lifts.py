"""payout method changes record an operator's lifting of their hold

`hold_lifted_at`, `hold_lifted_by` (the calling service), `hold_lift_requested_by` (the operator)
and `hold_lift_reason`: all four or none.

Revision ID: 0011_method_hold_lifts
Revises: 0010_withdrawals_send_after

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime

revision: str = "0011_method_hold_lifts"
down_revision: str | Sequence[str] | None = "0010_withdrawals_send_after"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIFT_RECORDED_WHOLE = (
    "(hold_lifted_at IS NULL AND hold_lifted_by IS NULL AND hold_lift_requested_by IS NULL"
    " AND hold_lift_reason IS NULL) OR (hold_lifted_at IS NOT NULL AND hold_lifted_by IS NOT NULL"
    " AND hold_lift_requested_by IS NOT NULL AND hold_lift_reason IS NOT NULL"
    " AND hold_lift_reason <> '')"
)


def upgrade() -> None:
    with op.batch_alter_table("payout_method_changes") as batch:
        batch.add_column(sa.Column("hold_lifted_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("hold_lifted_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hold_lift_requested_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hold_lift_reason", sa.String(length=200), nullable=True))
        batch.create_check_constraint("ck_method_changes_hold_lift", LIFT_RECORDED_WHOLE)


def downgrade() -> None:
    with op.batch_alter_table("payout_method_changes") as batch:
        batch.drop_constraint("ck_method_changes_hold_lift", type_="check")
        for column in ("hold_lift_reason", "hold_lift_requested_by", "hold_lifted_by", "hold_lifted_at"):
            batch.drop_column(column)
