"""idempotency keys carry their owner and resource; resources no longer carry keys

Revision ID: 0003
Revises: 0002_payout_method_changes

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.infra_migrations import drop_resource_key, keys_with_owners

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002_payout_method_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    keys_with_owners(op)
    drop_resource_key(op, "withdrawals")
    # How many times the worker has sent a withdrawal to the processor: bounded, then failed.
    with op.batch_alter_table("withdrawals") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.create_check_constraint("ck_withdrawals_attempts", "attempts >= 0")


def downgrade() -> None:
    raise NotImplementedError("forward only: the keys' owners cannot be put back into the resources")
