"""spent user grants

A user grant authorises one call: its (iss, jti) is recorded with the change it authorises.

Revision ID: 0007_used_grants
Revises: 0006_payout_claims

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import create_used_grants, drop_used_grants

revision: str = "0007_used_grants"
down_revision: str | Sequence[str] | None = "0006_payout_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_used_grants(op)


def downgrade() -> None:
    drop_used_grants(op)
