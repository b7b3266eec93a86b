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
    create_messaging_tables(op)
    op.create_table(
        "wallets",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("balance_coins", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("debt_coins", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("balance_coins = 0 OR debt_coins = 0", name="ck_wallets_balance_or_debt"),
        sa.CheckConstraint("balance_coins >= 0", name="ck_wallets_balance_not_negative"),
        sa.CheckConstraint("debt_coins >= 0", name="ck_wallets_debt_not_negative"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "gifts",
        sa.Column("gift_tx_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=True),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("gift_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("coins_each", sa.BigInteger(), nullable=False),
        sa.Column("total_coins", sa.BigInteger(), nullable=False),
        sa.Column("diamonds", sa.BigInteger(), nullable=False),
        sa.Column("stream_id", sa.String(length=64), nullable=True),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("balance_after >= 0", name="ck_gifts_balance_after"),
        sa.CheckConstraint("coins_each > 0 AND total_coins = coins_each * quantity", name="ck_gifts_total"),
        sa.CheckConstraint("diamonds > 0", name="ck_gifts_diamonds"),
        sa.CheckConstraint("quantity BETWEEN 1 AND 99", name="ck_gifts_quantity"),
        sa.CheckConstraint("sender_id <> creator_id", name="ck_gifts_not_self"),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["wallets.user_id"],
        ),
        sa.PrimaryKeyConstraint("gift_tx_id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.create_index("ix_gifts_stream_sender", ["stream_id", "sender_id"], unique=False)

    op.create_table(
        "wallet_entries",
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delta_coins", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'purchase' AND delta_coins > 0) OR (kind <> 'purchase' AND delta_coins < 0)",
            name="ck_wallet_entries_sign",
        ),
        sa.CheckConstraint("kind IN ('purchase', 'gift', 'chargeback')", name="ck_wallet_entries_kind"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["wallets.user_id"],
        ),
        sa.PrimaryKeyConstraint("entry_id"),
        sa.UniqueConstraint("kind", "reference", name="uq_wallet_entries_kind_reference"),
    )
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_entries_user", ["user_id", "entry_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_entries_user")

    op.drop_table("wallet_entries")
    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.drop_index("ix_gifts_stream_sender")

    op.drop_table("gifts")
    op.drop_table("wallets")
    drop_messaging_tables(op)
