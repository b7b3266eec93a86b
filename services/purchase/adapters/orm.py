"""The purchase service's tables."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db.engines import UTCDateTime
from shared.db.tables import add_infrastructure_tables, trace_columns

metadata = sa.MetaData()

# One row per buyer, locked while a purchase is started so the 24-hour cap holds under races.
buyers = sa.Table(
    "buyers",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
)

purchases = sa.Table(
    "purchases",
    metadata,
    sa.Column("purchase_id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(64), sa.ForeignKey("buyers.user_id"), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("package_id", sa.String(40), nullable=False),
    sa.Column("coins", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("processor_ref", sa.String(100)),
    sa.Column("decline_code", sa.String(50)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("attempted_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("reversed_at", UTCDateTime),
    *trace_columns(),  # the request's trace, which the reconciler continues
    # The reconciler's schedule of lookups: each pending purchase its own, backing off.
    sa.Column("next_check_at", UTCDateTime, nullable=False),
    sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
    # Who may settle it right now (the request charging it, or one reconciler looking it up), until when.
    sa.Column("claim_token", sa.String(36)),
    sa.Column("claimed_until", UTCDateTime),
    sa.Column("hold_reason", sa.String(200)),  # why the processor's answer was not believed
    sa.CheckConstraint("coins > 0", name="ck_purchases_coins_positive"),
    sa.CheckConstraint("amount_minor > 0", name="ck_purchases_amount_positive"),
    sa.CheckConstraint("checks >= 0", name="ck_purchases_checks"),
    sa.CheckConstraint(
        "status IN ('pending', 'completed', 'declined', 'reversed', 'held')", name="ck_purchases_status_held"
    ),
    sa.CheckConstraint(
        "status NOT IN ('completed', 'reversed') OR processor_ref IS NOT NULL", name="ck_purchases_paid_has_ref"
    ),
    sa.CheckConstraint("status != 'held' OR hold_reason IS NOT NULL", name="ck_purchases_held_has_reason"),
    sa.Index("ix_purchases_user_created", "user_id", "created_at"),
    # The reconciler's sweep: pending purchases by the time of their next lookup.
    sa.Index(
        "ix_purchases_due",
        "next_check_at",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    ),
    sa.Index(
        "ix_purchases_held",
        "created_at",
        postgresql_where=sa.text("status = 'held'"),
        sqlite_where=sa.text("status = 'held'"),
    ),
)

chargebacks = sa.Table(
    "chargebacks",
    metadata,
    sa.Column("chargeback_id", sa.String(36), primary_key=True),
    sa.Column("purchase_id", sa.String(36), sa.ForeignKey("purchases.purchase_id"), nullable=False, unique=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("coins", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # pending until its purchase settles; reversed (coins taken back) or void (nothing was taken)
    sa.Column("status", sa.String(16), nullable=False, server_default="reversed"),
    sa.Column("settled_at", UTCDateTime),
    sa.CheckConstraint("coins > 0", name="ck_chargebacks_coins_positive"),
    sa.CheckConstraint("status IN ('pending', 'reversed', 'void')", name="ck_chargebacks_status"),
    sa.CheckConstraint("(status = 'pending') = (settled_at IS NULL)", name="ck_chargebacks_settled_at"),
)

tables = add_infrastructure_tables(metadata)
