"""Databases holding millions of gifts, as after days of traffic and retention: gifting's gifts,
ledger entries, published outbox rows, completed idempotency keys and spent grants, and payout's
inbox rows and earnings, every index in place. Seeded set-wise (one INSERT ... SELECT over
`generate_series` a table, each row a copy of one the run made, with fresh keys), then VACUUM
ANALYZE, as autovacuum would leave them."""

from __future__ import annotations

import time

import psycopg

from shared.contracts import GIFT_SENT

# Within every retention window (shared.db.retention.Windows): 3,000,000 rows span ~1.7 days.
AGO = "now() - interval '1 hour' - g * interval '50 milliseconds'"
GIFT_ID = "md5('stored-gift-' || g)::uuid::text"
EVENT_ID = "md5('stored-event-' || g)::uuid::text"

# table -> (which row to copy, the columns that must differ per copy)
GIFTING = {
    "gifts": ("true", {"gift_tx_id": GIFT_ID, "sent_at": AGO}),
    "wallet_entries": ("kind = 'gift'", {"reference": GIFT_ID, "created_at": AGO}),
    "outbox": (
        f"topic = '{GIFT_SENT.topic}'",
        {"event_id": EVENT_ID, "message_key": "'stored-creator-' || g %% 5000", "created_at": AGO, "published_at": AGO},
    ),
    "idempotency_keys": (
        "true",
        {"key": "'stored-key-' || g", "created_at": AGO, "completed_at": AGO, "lease_until": AGO},
    ),
}
PAYOUT = {
    "inbox": (f"topic = '{GIFT_SENT.topic}'", {"event_id": EVENT_ID, '"offset"': "g", "processed_at": AGO}),
    "earnings": ("true", {"gift_tx_id": GIFT_ID, "earned_at": AGO, "available_at": AGO}),
}
# No template: the bench's caller sends no grants. One spent grant a gift, as a `live` batch spends them.
USED_GRANTS = (
    "INSERT INTO used_grants (issuer, jti, user_id, caller, expires_at, used_at) "
    "SELECT 'live', 'stored-grant-' || g, 'stored-viewer-' || g %% 100000, 'live', "
    "now() + interval '1 day', {ago} FROM generate_series(1, %s) g"
)


def seed(databases: dict[str, str], gifts: int) -> dict:
    """`gifts` stored gifts in gifting's and payout's databases; rows added per table, seconds."""
    started, rows = time.monotonic(), {}
    for service, tables in (("gifting", GIFTING), ("payout", PAYOUT)):
        with psycopg.connect(databases[service], autocommit=True) as conn:
            for table, (where, fresh) in tables.items():
                rows[f"{service}.{table}"] = _copies(conn, table, where, fresh, gifts)
            if service == "gifting":
                conn.execute(USED_GRANTS.format(ago=AGO), (gifts,))
                rows["gifting.used_grants"] = gifts
            conn.execute("VACUUM ANALYZE")
    return {"gifts": gifts, "rows": rows, "seconds": round(time.monotonic() - started, 1)}


def _copies(conn: psycopg.Connection, table: str, where: str, fresh: dict[str, str], count: int) -> int:
    columns = [
        f'"{name}"'
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "AND coalesce(column_default, '') NOT LIKE 'nextval%%' AND is_identity = 'NO' ORDER BY ordinal_position",
            (table,),
        ).fetchall()
    ]
    picked = {f'"{k.strip(chr(34))}"': v for k, v in fresh.items()}
    select = ", ".join(picked.get(c, f"t.{c}") for c in columns)
    result = conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "
        f"FROM (SELECT * FROM {table} WHERE {where} LIMIT 1) t CROSS JOIN generate_series(1, %s) g",
        (count,),
    )
    if result.rowcount != count:
        raise RuntimeError(f"seeding {table}: no row to copy (the run made none matching {where})")
    return count
