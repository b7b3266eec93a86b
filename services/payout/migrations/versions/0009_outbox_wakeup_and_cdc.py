"""The outbox wakes its relay on commit, and can be published by CDC instead

A NOTIFY trigger on the outbox (PostgreSQL), each event's type in a column, and the outbox_cdc switch

Revision ID: 0009_outbox_wakeup_and_cdc
Revises: 0008_payout_method_holds

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import drop_outbox_wakeup_and_cdc, outbox_wakeup_and_cdc

revision: str = "0009_outbox_wakeup_and_cdc"
down_revision: str | Sequence[str] | None = "0008_payout_method_holds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_wakeup_and_cdc(op)


def downgrade() -> None:
    drop_outbox_wakeup_and_cdc(op)
