"""payout method changes: the end user who asked, and a hold on new withdrawals

Each change records the end user it was made for (`requested_by`; NULL on the changes recorded
before) and until when new withdrawals wait (`hold_until`), which the creator row carries too.

Revision ID: 0008_payout_method_holds
Revises: 0007_used_grants

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime

revision: str = "0008_payout_method_holds"
down_revision: str | Sequence[str] | None = "0007_used_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("creators") as batch:
        batch.add_column(sa.Column("method_hold_until", UTCDateTime(), nullable=True))
    with op.batch_alter_table("payout_method_changes") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hold_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payout_method_changes") as batch:
        batch.drop_column("hold_until")
        batch.drop_column("requested_by")
    with op.batch_alter_table("creators") as batch:
        batch.drop_column("method_hold_until")
