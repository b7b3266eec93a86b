"""Gifting's tables. The constraints say in the database what the domain assumes."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db.engines import BigId, UTCDateTime
from shared.db.tables import add_infrastructure_tables, used_grants_table

metadata = sa.MetaData()

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("balance_coins", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("debt_coins", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("balance_coins >= 0", name="ck_wallets_balance_not_negative"),
    sa.CheckConstraint("debt_coins >= 0", name="ck_wallets_debt_not_negative"),
    sa.CheckConstraint("balance_coins = 0 OR debt_coins = 0", name="ck_wallets_balance_or_debt"),
)

wallet_entries = sa.Table(
    "wallet_entries",
    metadata,
    sa.Column("entry_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("wallets.user_id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("delta_coins", sa.BigInteger, nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("kind IN ('purchase', 'gift', 'chargeback')", name="ck_wallet_entries_kind"),
    sa.CheckConstraint(
        "(kind = 'purchase' AND delta_coins > 0) OR (kind <> 'purchase' AND delta_coins < 0)",
        name="ck_wallet_entries_sign",
    ),
    sa.UniqueConstraint("kind", "reference", name="uq_wallet_entries_kind_reference"),
    sa.Index("ix_wallet_entries_user", "user_id", "entry_id"),
)

gifts = sa.Table(
    "gifts",
    metadata,
    sa.Column("gift_tx_id", sa.String(36), primary_key=True),
    sa.Column("sender_id", sa.String(64), sa.ForeignKey("wallets.user_id"), nullable=False),
    sa.Column("creator_id", sa.String(64), nullable=False),
    sa.Column("gift_id", sa.String(40), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("coins_each", sa.BigInteger, nullable=False),
    sa.Column("total_coins", sa.BigInteger, nullable=False),
    sa.Column("diamonds", sa.BigInteger, nullable=False),
    sa.Column("stream_id", sa.String(64)),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("quantity BETWEEN 1 AND 99", name="ck_gifts_quantity"),
    sa.CheckConstraint("coins_each > 0 AND total_coins = coins_each * quantity", name="ck_gifts_total"),
    sa.CheckConstraint("diamonds > 0", name="ck_gifts_diamonds"),
    sa.CheckConstraint("sender_id <> creator_id", name="ck_gifts_not_self"),
    sa.CheckConstraint("balance_after >= 0", name="ck_gifts_balance_after"),
    sa.Index("ix_gifts_stream_sender", "stream_id", "sender_id"),
)

tables = add_infrastructure_tables(metadata)
tables["used_grants"] = used_grants_table(metadata)  # shared.auth.onbehalf: a grant is spent once
