"""withdrawals asked for in a payout method change's hold wait it out

`send_after`: a withdrawal is not sent before it (the hold of the payout method change it was
asked for in; NULL: at once). The audit's overdue bound counts from it.

Revision ID: 0010_withdrawals_send_after
Revises: 0009_outbox_wakeup_and_cdc

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime

revision: str = "0010_withdrawals_send_after"
down_revision: str | Sequence[str] | None = "0009_outbox_wakeup_and_cdc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("withdrawals") as batch:
        batch.add_column(sa.Column("send_after", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("withdrawals") as batch:
        batch.drop_column("send_after")
