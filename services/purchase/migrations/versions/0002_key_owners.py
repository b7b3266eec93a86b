"""idempotency keys carry their owner and resource; resources no longer carry keys

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime
from shared.db.infra_migrations import drop_resource_key, keys_with_owners

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    keys_with_owners(op)
    drop_resource_key(op, "purchases")
    drop_resource_key(op, "chargebacks")
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("attempted_at", UTCDateTime()))
    op.execute("UPDATE purchases SET attempted_at = created_at")
    with op.batch_alter_table("purchases") as batch:
        batch.alter_column("attempted_at", existing_type=UTCDateTime(), nullable=False)
    op.create_index(
        "ix_purchases_pending",
        "purchases",
        ["attempted_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    raise NotImplementedError("forward only: the keys' owners cannot be put back into the resources")
