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
        "creator_accounts",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("credited_diamonds", sa.BigInteger(), nullable=False),
        sa.Column("reserved_diamonds", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn_diamonds", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "credited_diamonds >= 0 AND reserved_diamonds >= 0 AND withdrawn_diamonds >= 0",
            name="ck_accounts_not_negative",
        ),
        sa.CheckConstraint(
            "reserved_diamonds + withdrawn_diamonds <= credited_diamonds", name="ck_accounts_no_overdraw"
        ),
        sa.PrimaryKeyConstraint("creator_id"),
    )
    op.create_table(
        "creators",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("payout_method", sa.String(length=16), nullable=False),
        sa.Column("payout_account", sa.String(length=254), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("payout_method IN ('bank', 'paypal')", name="ck_creators_method"),
        sa.PrimaryKeyConstraint("creator_id"),
    )
    op.create_table(
        "earnings",
        sa.Column("gift_tx_id", sa.String(length=36), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.Column("earned_at", UTCDateTime(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("diamonds > 0", name="ck_earnings_positive"),
        sa.PrimaryKeyConstraint("gift_tx_id"),
    )
    with op.batch_alter_table("earnings", schema=None) as batch_op:
        batch_op.create_index("ix_earnings_creator_available", ["creator_id", "available_at"], unique=False)

    create_messaging_tables(op)
    op.create_table(
        "withdrawals",
        sa.Column("withdrawal_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=True),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payout_method", sa.String(length=16), nullable=False),
        sa.Column("payout_account", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("processor_ref", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'processing', 'completed', 'failed')", name="ck_withdrawals_status"),
        sa.CheckConstraint("diamonds > 0 AND net_minor > 0 AND fee_minor >= 0", name="ck_withdrawals_positive"),
        sa.CheckConstraint("gross_minor = net_minor + fee_minor", name="ck_withdrawals_gross_is_net_plus_fee"),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.creator_id"],
        ),
        sa.PrimaryKeyConstraint("withdrawal_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.create_index("ix_withdrawals_creator_created", ["creator_id", "created_at"], unique=False)
        batch_op.create_index("ix_withdrawals_status", ["status", "created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.drop_index("ix_withdrawals_status")
        batch_op.drop_index("ix_withdrawals_creator_created")

    op.drop_table("withdrawals")
    drop_messaging_tables(op)
    with op.batch_alter_table("earnings", schema=None) as batch_op:
        batch_op.drop_index("ix_earnings_creator_available")

    op.drop_table("earnings")
    op.drop_table("creators")
    op.drop_table("creator_accounts")
