"""Read-only totals of the payout service, for the auditor."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.payout.adapters.orm import creator_accounts, earnings, withdrawals
from services.payout.domain.model import HELD, PENDING, PROCESSING
from shared.clock import utcnow
from shared.db.reads import keyset_rows, sum_of


def totals(conn: Connection, *, overdue_before: datetime) -> dict:
    """`overdue_before`: a withdrawal still in flight that was asked for before this is overdue."""
    a = creator_accounts.c
    return {
        "diamonds_credited": sum_of(conn, sa.select(sa.func.sum(a.credited_diamonds))),
        "diamonds_pending": sum_of(
            conn, sa.select(sa.func.sum(earnings.c.diamonds)).where(earnings.c.available_at > utcnow())
        ),
        "diamonds_in_flight": sum_of(conn, sa.select(sa.func.sum(a.reserved_diamonds))),
        "diamonds_paid_out": sum_of(conn, sa.select(sa.func.sum(a.withdrawn_diamonds))),
        "gifts_credited": sum_of(conn, sa.select(sa.func.count()).select_from(earnings)),
        "accounts_earnings_mismatch": list(conn.execute(_earnings_mismatch()).scalars()),
        "withdrawals_fee_mismatch": sum_of(
            conn,
            sa.select(sa.func.count()).where(
                withdrawals.c.gross_minor != withdrawals.c.net_minor + withdrawals.c.fee_minor
            ),
        ),
        "withdrawals_overdue": sum_of(
            conn,
            sa.select(sa.func.count()).where(
                withdrawals.c.status.in_([PENDING, PROCESSING]),
                sa.func.coalesce(withdrawals.c.send_after, withdrawals.c.created_at) < overdue_before,
            ),
        ),
    }


def _earnings_mismatch():
    """Creators whose account's credited diamonds are not the sum of their earnings, or who have
    earnings and no account (the auditor wants none)."""
    a = creator_accounts.c
    per_account = (
        sa.select(earnings.c.creator_id, sa.func.sum(earnings.c.diamonds).label("earned"))
        .group_by(earnings.c.creator_id)
        .subquery()
    )
    differ = (
        sa.select(a.creator_id)
        .select_from(creator_accounts.outerjoin(per_account, per_account.c.creator_id == a.creator_id))
        .where(a.credited_diamonds != sa.func.coalesce(per_account.c.earned, 0))
    )
    no_account = (
        sa.select(per_account.c.creator_id)
        .select_from(per_account.outerjoin(creator_accounts, a.creator_id == per_account.c.creator_id))
        .where(a.creator_id.is_(None))
    )
    return sa.union_all(differ, no_account).limit(100)


def worker_backlog(conn: Connection, *, now: datetime) -> dict:
    """Withdrawals not yet settled (held ones apart); of those the ones whose outcome is unknown
    (sent, and not in a live claim's hands, or sent more than once) and the age of the oldest of
    them (0 if none); and those held for an operator."""
    w = withdrawals.c
    unsettled = w.status.in_([PENDING, PROCESSING])
    unclaimed = sa.or_(w.claimed_until.is_(None), w.claimed_until < now)
    unknown = sa.and_(w.status == PROCESSING, sa.or_(w.attempts > 1, sa.and_(w.attempts > 0, unclaimed)))
    pending, unknown_count, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.count().filter(unknown), sa.func.min(w.created_at).filter(unknown)).where(
            unsettled
        )
    ).one()
    held = conn.execute(sa.select(sa.func.count()).where(w.status == HELD)).scalar()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return {
        "pending": int(pending),
        "unknown": int(unknown_count),
        "oldest_unknown_age_seconds": age,
        "held": int(held),
    }


def withdrawals_page(conn: Connection, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every withdrawal in id order (the auditor's ledger side of the payouts)."""
    w = withdrawals.c
    query = sa.select(
        w.withdrawal_id,
        w.creator_id,
        w.diamonds,
        w.gross_minor,
        w.fee_minor,
        w.net_minor,
        w.currency,
        w.payout_method,
        w.status,
        w.attempts,
    )
    return keyset_rows(conn, query, w.withdrawal_id, cursor=cursor, limit=limit)


def accounts_page(conn: Connection, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every creator's diamond account in id order, each with its withdrawals read in the same
    snapshot (the auditor adds them up itself: a withdrawal settling meanwhile cannot skew it)."""
    a, w = creator_accounts.c, withdrawals.c
    query = sa.select(a.creator_id, a.credited_diamonds, a.reserved_diamonds, a.withdrawn_diamonds)
    accounts, next_cursor = keyset_rows(conn, query, a.creator_id, cursor=cursor, limit=limit)
    theirs: dict[str, list[dict]] = {account["creator_id"]: [] for account in accounts}
    if theirs:
        rows = conn.execute(
            sa.select(w.withdrawal_id, w.creator_id, w.diamonds, w.status)
            .where(w.creator_id.in_(list(theirs)))
            .order_by(w.withdrawal_id)
        )
        for row in rows:
            theirs[row.creator_id].append(
                {"withdrawal_id": row.withdrawal_id, "diamonds": row.diamonds, "status": row.status}
            )
    return [{**account, "withdrawals": theirs[account["creator_id"]]} for account in accounts], next_cursor


def earnings_page(conn: Connection, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every gift's credit in gift id order (the auditor matches them with gifting's gifts)."""
    e = earnings.c
    query = sa.select(e.gift_tx_id, e.creator_id, e.diamonds)
    return keyset_rows(conn, query, e.gift_tx_id, cursor=cursor, limit=limit)
