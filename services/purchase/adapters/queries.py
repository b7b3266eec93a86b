"""Read-only totals of the purchase service, for the auditor."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.purchase.adapters.orm import chargebacks, purchases
from services.purchase.domain.model import (
    CHARGEBACK_PENDING,
    CHARGEBACK_REVERSED,
    CHARGEBACK_VOID,
    COMPLETED,
    HELD,
    PENDING,
)
from shared.db.reads import keyset_rows, sum_of


def totals(conn: Connection, *, overdue_before: datetime) -> dict:
    """`overdue_before`: a purchase still pending whose last charge attempt was before this is overdue."""
    paid = purchases.c.status.in_([COMPLETED, "reversed"])
    reversed_ = chargebacks.c.status == CHARGEBACK_REVERSED  # a pending or void one took nothing back
    return {
        "coins_bought": sum_of(conn, sa.select(sa.func.sum(purchases.c.coins)).where(paid)),
        "coins_reversed": sum_of(conn, sa.select(sa.func.sum(chargebacks.c.coins)).where(reversed_)),
        "purchases_completed": sum_of(conn, sa.select(sa.func.count()).where(paid)),
        "purchases_pending": sum_of(conn, sa.select(sa.func.count()).where(purchases.c.status == "pending")),
        "purchases_overdue": sum_of(
            conn,
            sa.select(sa.func.count()).where(
                purchases.c.status == "pending", purchases.c.attempted_at < overdue_before
            ),
        ),
        "chargebacks": sum_of(conn, sa.select(sa.func.count()).where(reversed_)),
        "chargebacks_pending": sum_of(
            conn, sa.select(sa.func.count()).where(chargebacks.c.status == CHARGEBACK_PENDING)
        ),
        "chargebacks_void": sum_of(conn, sa.select(sa.func.count()).where(chargebacks.c.status == CHARGEBACK_VOID)),
        "purchases_held": sum_of(conn, sa.select(sa.func.count()).where(purchases.c.status == HELD)),
    }


def reconciler_backlog(conn: Connection, *, attempted_before: datetime) -> int:
    """Purchases still pending whose last charge attempt was before the bound: the reconciler's to settle."""
    return sum_of(
        conn,
        sa.select(sa.func.count()).where(purchases.c.status == "pending", purchases.c.attempted_at < attempted_before),
    )


def reconciler_gauges(conn: Connection, *, now: datetime) -> dict:
    """The age of the oldest pending purchase (seconds; 0 if none) and how many are held for review."""
    oldest = conn.execute(sa.select(sa.func.min(purchases.c.created_at)).where(purchases.c.status == PENDING)).scalar()
    held = sum_of(conn, sa.select(sa.func.count()).where(purchases.c.status == HELD))
    return {"oldest_pending_seconds": max((now - oldest).total_seconds(), 0.0) if oldest else 0.0, "held": held}


def purchases_page(conn: Connection, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every purchase in id order, with its chargeback if one is recorded (the auditor's ledger side)."""
    p, c = purchases.c, chargebacks.c
    query = sa.select(
        p.purchase_id,
        p.user_id,
        p.country,
        p.package_id,
        p.coins,
        p.amount_minor,
        p.currency,
        p.status,
        c.chargeback_id,
        c.coins.label("chargeback_coins"),
        c.status.label("chargeback_status"),
    ).select_from(purchases.outerjoin(chargebacks, c.purchase_id == p.purchase_id))
    return keyset_rows(conn, query, p.purchase_id, cursor=cursor, limit=limit)
