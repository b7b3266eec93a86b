"""idempotency keys carry their owner and resource; resources no longer carry keys

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import drop_resource_key, keys_with_owners

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    keys_with_owners(op)
    drop_resource_key(op, "gifts")


def downgrade() -> None:
    raise NotImplementedError("forward only: the keys' owners cannot be put back into the resources")
