"""The payout service's tables."""

from __future__ import annotations

import sqlalchemy as sa

from shared.db.engines import UTCDateTime
from shared.db.tables import add_infrastructure_tables, trace_columns, used_grants_table

metadata = sa.MetaData()

creators = sa.Table(
    "creators",
    metadata,
    sa.Column("creator_id", sa.String(64), primary_key=True),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("payout_method", sa.String(16), nullable=False),
    sa.Column("payout_account", sa.String(254), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("under_review", sa.Boolean, nullable=False, server_default=sa.false()),  # withdrawals held, not paid
    sa.Column("method_hold_until", UTCDateTime),  # the last payout method change's hold: no new withdrawal before
    sa.CheckConstraint("payout_method IN ('bank', 'paypal')", name="ck_creators_method"),
)

# Every change of a creator's payout method, with who made it: payouts are never redirected unrecorded.
payout_method_changes = sa.Table(
    "payout_method_changes",
    metadata,
    sa.Column("change_id", sa.String(36), primary_key=True),
    sa.Column("creator_id", sa.String(64), sa.ForeignKey("creators.creator_id"), nullable=False),
    sa.Column("old_method", sa.String(16), nullable=False),
    sa.Column("old_account", sa.String(254), nullable=False),
    sa.Column("new_method", sa.String(16), nullable=False),
    sa.Column("new_account", sa.String(254), nullable=False),
    sa.Column("changed_by", sa.String(64), nullable=False),  # the calling service
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("requested_by", sa.String(64)),  # the end user who asked; NULL on changes recorded before it was
    sa.Column("hold_until", UTCDateTime),
    # An operator lifted the hold early: when, the calling service, the operator, and why (all or none).
    sa.Column("hold_lifted_at", UTCDateTime),
    sa.Column("hold_lifted_by", sa.String(64)),
    sa.Column("hold_lift_requested_by", sa.String(64)),
    sa.Column("hold_lift_reason", sa.String(200)),
    sa.CheckConstraint("new_method IN ('bank', 'paypal')", name="ck_method_changes_method"),
    sa.CheckConstraint(
        "(hold_lifted_at IS NULL AND hold_lifted_by IS NULL AND hold_lift_requested_by IS NULL"
        " AND hold_lift_reason IS NULL) OR (hold_lifted_at IS NOT NULL AND hold_lifted_by IS NOT NULL"
        " AND hold_lift_requested_by IS NOT NULL AND hold_lift_reason IS NOT NULL"
        " AND hold_lift_reason <> '')",
        name="ck_method_changes_hold_lift",
    ),
    sa.Index("ix_method_changes_creator", "creator_id", "changed_at"),
)

# A creator's diamonds; gifts credit it before the creator registers, so no foreign key.
creator_accounts = sa.Table(
    "creator_accounts",
    metadata,
    sa.Column("creator_id", sa.String(64), primary_key=True),
    sa.Column("credited_diamonds", sa.BigInteger, nullable=False),
    sa.Column("reserved_diamonds", sa.BigInteger, nullable=False),
    sa.Column("withdrawn_diamonds", sa.BigInteger, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.CheckConstraint(
        "credited_diamonds >= 0 AND reserved_diamonds >= 0 AND withdrawn_diamonds >= 0", name="ck_accounts_not_negative"
    ),
    sa.CheckConstraint("reserved_diamonds + withdrawn_diamonds <= credited_diamonds", name="ck_accounts_no_overdraw"),
)

earnings = sa.Table(
    "earnings",
    metadata,
    sa.Column("gift_tx_id", sa.String(36), primary_key=True),
    sa.Column("creator_id", sa.String(64), nullable=False),
    sa.Column("sender_id", sa.String(64), nullable=False),
    sa.Column("diamonds", sa.BigInteger, nullable=False),
    sa.Column("earned_at", UTCDateTime, nullable=False),
    sa.Column("available_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("diamonds > 0", name="ck_earnings_positive"),
    sa.Index("ix_earnings_creator_available", "creator_id", "available_at"),
)

withdrawals = sa.Table(
    "withdrawals",
    metadata,
    sa.Column("withdrawal_id", sa.String(36), primary_key=True),
    sa.Column("creator_id", sa.String(64), sa.ForeignKey("creators.creator_id"), nullable=False),
    sa.Column("diamonds", sa.BigInteger, nullable=False),
    sa.Column("gross_minor", sa.BigInteger, nullable=False),
    sa.Column("fee_minor", sa.BigInteger, nullable=False),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payout_method", sa.String(16), nullable=False),
    sa.Column("payout_account", sa.String(254), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime),
    sa.Column("processor_ref", sa.String(100)),
    sa.Column("failure_reason", sa.String(200)),
    sa.Column("settled_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),  # sends to the processor so far
    *trace_columns(),  # the request's trace, which the payout worker continues
    # The claim's fencing token: every claim bumps it, and a send or settle happens only while it is unchanged.
    sa.Column("claim_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_check_at", UTCDateTime),  # an unknown outcome's next lookup, on its own backoff
    sa.Column("last_send_until", UTCDateTime),  # the lease of the last send, which ended before it
    sa.Column("held_reason", sa.String(200)),
    sa.Column("send_after", UTCDateTime),  # not sent before: a payout method change's hold
    sa.CheckConstraint("diamonds > 0 AND net_minor > 0 AND fee_minor >= 0", name="ck_withdrawals_positive"),
    sa.CheckConstraint("gross_minor = net_minor + fee_minor", name="ck_withdrawals_gross_is_net_plus_fee"),
    sa.CheckConstraint(
        "status IN ('pending', 'processing', 'held', 'completed', 'failed')", name="ck_withdrawals_status"
    ),
    sa.CheckConstraint("attempts >= 0 AND claim_version >= 0", name="ck_withdrawals_attempts"),
    sa.CheckConstraint("status <> 'held' OR held_reason IS NOT NULL", name="ck_withdrawals_held_reason"),
    sa.Index("ix_withdrawals_creator_created", "creator_id", "created_at"),
    sa.Index("ix_withdrawals_status", "status", "created_at"),
    sa.Index("ix_withdrawals_due", "status", "next_check_at"),
)

tables = add_infrastructure_tables(metadata)
tables["used_grants"] = used_grants_table(metadata)  # shared.auth.onbehalf: a grant is spent once
