"""Read-only queries for gifting's reports (no domain objects needed)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.gifting.adapters.orm import gifts, wallet_entries, wallets
from shared.db.reads import keyset_rows, sum_of


def totals(conn: Connection) -> dict:

    entries_of = lambda kind: sa.select(sa.func.sum(wallet_entries.c.delta_coins)).where(  # noqa: E731
        wallet_entries.c.kind == kind
    )
    return {
        "coins_credited": sum_of(conn, entries_of("purchase")),
        "coins_clawed_back": -sum_of(conn, entries_of("chargeback")),
        "coins_in_wallets": sum_of(conn, sa.select(sa.func.sum(wallets.c.balance_coins - wallets.c.debt_coins))),
        "coins_spent_on_gifts": sum_of(conn, sa.select(sa.func.sum(gifts.c.total_coins))),
        "diamonds_owed": sum_of(conn, sa.select(sa.func.sum(gifts.c.diamonds))),
        "wallets_below_zero": sum_of(conn, sa.select(sa.func.count()).where(wallets.c.debt_coins > 0)),
        "wallets_ledger_mismatch": [row.user_id for row in conn.execute(_ledger_mismatch()).all()],
    }


def _ledger_mismatch():
    """Wallets whose balance is not the sum of their ledger entries (the auditor wants none)."""
    ledger = (
        sa.select(wallet_entries.c.user_id, sa.func.sum(wallet_entries.c.delta_coins).label("net"))
        .group_by(wallet_entries.c.user_id)
        .subquery()
    )
    return (
        sa.select(wallets.c.user_id)
        .select_from(wallets.outerjoin(ledger, ledger.c.user_id == wallets.c.user_id))
        .where(wallets.c.balance_coins - wallets.c.debt_coins != sa.func.coalesce(ledger.c.net, 0))
        .limit(100)
    )


def gifts_page(conn: Connection, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every gift in id order, with the coins it cost and the diamonds it owes (for the auditor)."""
    g = gifts.c
    query = sa.select(g.gift_tx_id, g.creator_id, g.gift_id, g.quantity, g.coins_each, g.total_coins, g.diamonds)
    return keyset_rows(conn, query, g.gift_tx_id, cursor=cursor, limit=limit)


def coin_entries_page(conn: Connection, *, kind: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Every wallet entry of one kind from purchase's events (`purchase`: a purchase's coins
    credited, by purchase id; `chargeback`: coins clawed back, by chargeback id) in reference
    order, for the auditor: the coins and the user, each once (uq_wallet_entries_kind_reference)."""
    e = wallet_entries.c
    query = sa.select(e.reference, e.user_id, sa.func.abs(e.delta_coins).label("coins")).where(e.kind == kind)
    return keyset_rows(conn, query, e.reference, cursor=cursor, limit=limit)
