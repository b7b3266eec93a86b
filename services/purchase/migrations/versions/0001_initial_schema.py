"""initial schema

Revision ID: 0001
Revises:

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.engines import UTCDateTime
from shared.db.infra_migrations import create_messaging_tables, drop_messaging_tables

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "buyers", sa.Column("user_id", sa.String(length=64), nullable=False), sa.PrimaryKeyConstraint("user_id")
    )
    create_messaging_tables(op)
    op.create_table(
        "purchases",
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("package_id", sa.String(length=40), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("processor_ref", sa.String(length=100), nullable=True),
        sa.Column("decline_code", sa.String(length=50), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("reversed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'completed', 'declined', 'reversed')", name="ck_purchases_status"),
        sa.CheckConstraint(
            "status NOT IN ('completed', 'reversed') OR processor_ref IS NOT NULL", name="ck_purchases_paid_has_ref"
        ),
        sa.CheckConstraint("amount_minor > 0", name="ck_purchases_amount_positive"),
        sa.CheckConstraint("coins > 0", name="ck_purchases_coins_positive"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["buyers.user_id"],
        ),
        sa.PrimaryKeyConstraint("purchase_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index("ix_purchases_user_created", ["user_id", "created_at"], unique=False)

    op.create_table(
        "chargebacks",
        sa.Column("chargeback_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=True),
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("coins", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("coins > 0", name="ck_chargebacks_coins_positive"),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["purchases.purchase_id"],
        ),
        sa.PrimaryKeyConstraint("chargeback_id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("purchase_id"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("chargebacks")
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_purchases_user_created")

    op.drop_table("purchases")
    drop_messaging_tables(op)
    op.drop_table("buyers")
