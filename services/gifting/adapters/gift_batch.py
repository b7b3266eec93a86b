"""A batch of gifts in a handful of set-wise statements, however many gifts it carries: the port
`AbstractGiftBatchRepository` (adapters/repository.py) on SQLAlchemy Core.

One transaction, in this order (each a lock order, so concurrent batches cannot deadlock): claim
the items' Idempotency-Keys (one INSERT ... ON CONFLICT DO NOTHING, keys sorted) and lock the
ones already recorded (one SELECT ... FOR UPDATE); lock the senders' wallets (one SELECT ... FOR
UPDATE ordered by user_id); read which grants are spent. The handler decides item by item in
Python; then gifts, ledger entries, outbox rows, spent grants, wallets and keys are written with
one statement each (on PostgreSQL one array per column, shared.db.pg_arrays; on SQLite an
executemany, in process). A grant is spent by its user's gift only, and every spend of it holds
that user's wallet locked first, so reading `used_grants` under the lock is race-free.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.gifting.adapters.orm import gifts, tables, wallet_entries, wallets
from services.gifting.adapters.repository import AbstractGiftBatchRepository
from services.gifting.domain.model import GiftTransaction, Wallet
from shared.clock import utcnow
from shared.db.engines import lock_for_update
from shared.db.pg_arrays import as_arrays, unnest_insert
from shared.db.upserts import insert_ignore_many
from shared.idempotency import DONE, IN_FLIGHT, KeyedRequest

KEYS = tables["idempotency_keys"]
USED_GRANTS = tables["used_grants"]
OUTBOX = tables["outbox"]
_GIFT_COLUMNS = tuple(c.name for c in gifts.c)
_ENTRY_COLUMNS = ("user_id", "kind", "delta_coins", "balance_after", "reference", "created_at")
_EVENT_COLUMNS = tuple(c.name for c in OUTBOX.c if c.name != "id")
_KEY_COLUMNS = tuple(c.name for c in KEYS.c)
_SETTLED = ("request_hash", "state", "owner", "resource_id", "lease_until", "response_status", "response_body")


class SqlAlchemyGiftBatchRepository(AbstractGiftBatchRepository):
    def __init__(self, conn: Connection):
        self.conn = conn
        self.owner = str(uuid.uuid4())  # this transaction's hold on the keys it claims

    def claim_keys(self, requests: list[KeyedRequest]) -> dict[str, object]:
        """Claim the keys not recorded yet (held by this transaction until `record` settles them)
        and return the rows of those recorded already, locked, by key."""
        if not requests:
            return {}
        now = utcnow()
        unique = {r.key: r for r in requests}
        rows = [
            {
                "caller": unique[key].caller,
                "key": key,
                "request_hash": unique[key].fingerprint,
                "state": IN_FLIGHT,
                "owner": self.owner,
                "resource_id": None,
                "lease_until": now,
                "response_status": None,
                "response_body": None,
                "created_at": now,
                "completed_at": None,
            }
            for key in sorted(unique)
        ]
        claimed = insert_ignore_many(self.conn, KEYS, rows, ["caller", "key"], returning="key")
        recorded = sorted(set(unique) - claimed)
        if not recorded:
            return {}
        caller = requests[0].caller
        query = sa.select(KEYS).where(KEYS.c.caller == caller, KEYS.c.key.in_(recorded)).order_by(KEYS.c.key)
        return {row.key: row for row in self.conn.execute(lock_for_update(query, self.conn))}

    def wallets_for_update(self, user_ids: Iterable[str]) -> dict[str, Wallet]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        query = sa.select(wallets).where(wallets.c.user_id.in_(ids)).order_by(wallets.c.user_id)
        return {
            row.user_id: Wallet(row.user_id, row.balance_coins, row.debt_coins, row.version)
            for row in self.conn.execute(lock_for_update(query, self.conn))
        }

    def spent_grants(self, grants: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        asked = set(grants)
        if not asked:
            return set()
        jtis = sorted({jti for _, jti in asked})
        query = sa.select(USED_GRANTS.c.issuer, USED_GRANTS.c.jti).where(USED_GRANTS.c.jti.in_(jtis))
        return {(row.issuer, row.jti) for row in self.conn.execute(query)} & asked

    def gifts(self, gift_tx_ids: Iterable[str]) -> dict[str, GiftTransaction]:
        ids = sorted(set(gift_tx_ids))
        if not ids:
            return {}
        rows = self.conn.execute(sa.select(gifts).where(gifts.c.gift_tx_id.in_(ids)))
        return {row.gift_tx_id: GiftTransaction(**row._mapping) for row in rows}

    def record(self, made: list, *, wallets_after: list[Wallet], keys: list) -> None:
        """Write the batch: `made` (gift fields with balance_after, its outbox row, its grant or
        None), the debited wallets, and every key's settled row (handlers.SettledKey)."""
        now = utcnow()
        _insert_many(self.conn, gifts, _GIFT_COLUMNS, [gift for gift, _, _ in made])
        entries = [
            {
                "user_id": gift["sender_id"],
                "kind": "gift",
                "delta_coins": -gift["total_coins"],
                "balance_after": gift["balance_after"],
                "reference": gift["gift_tx_id"],
                "created_at": now,
            }
            for gift, _, _ in made
        ]
        _insert_many(self.conn, wallet_entries, _ENTRY_COLUMNS, entries)
        _insert_many(self.conn, OUTBOX, _EVENT_COLUMNS, [event for _, event, _ in made])
        used = [grant.row(now) for _, _, grant in made if grant is not None]
        _insert_many(self.conn, USED_GRANTS, tuple(c.name for c in USED_GRANTS.c), used)
        debited = [
            {
                "user_id": w.user_id,
                "balance_coins": w.balance_coins,
                "debt_coins": w.debt_coins,
                "version": w.version + 1,
                "updated_at": now,
            }
            for w in sorted(wallets_after, key=lambda w: w.user_id)
        ]
        _upsert_many(self.conn, wallets, ["user_id"], ("balance_coins", "version", "updated_at"), debited)
        owner = self.owner
        settled = [
            {
                "caller": k.request.caller,
                "key": k.request.key,
                "request_hash": k.request.fingerprint,
                "state": k.state,
                "owner": owner if k.state == DONE else None,
                "resource_id": k.resource_id,
                "lease_until": now,
                "response_status": k.status,
                "response_body": k.body,
                "created_at": now,
                "completed_at": now if k.state == DONE else None,
            }
            for k in sorted(keys, key=lambda k: k.request.key)
        ]
        _upsert_many(self.conn, KEYS, ["caller", "key"], _SETTLED + ("completed_at",), settled)


def _insert_many(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[dict]) -> None:
    """One INSERT of many rows: on PostgreSQL from one array per column."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(unnest_insert(table, columns, ""), as_arrays(conn, table, columns, rows))
    else:
        conn.execute(table.insert(), [{c: row[c] for c in columns} for row in rows])


def _upsert_many(conn: Connection, table: sa.Table, key: list[str], updated: tuple[str, ...], rows: list[dict]) -> None:
    """One INSERT ... ON CONFLICT (key) DO UPDATE SET the `updated` columns from the new row."""
    if not rows:
        return
    columns = tuple(rows[0])
    if conn.dialect.name == "postgresql":
        q = conn.dialect.identifier_preparer.quote
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in updated)
        tail = f"ON CONFLICT ({', '.join(q(c) for c in key)}) DO UPDATE SET {sets}"
        conn.execute(unnest_insert(table, columns, tail), as_arrays(conn, table, columns, rows))
        return
    from sqlalchemy.dialects.sqlite import insert

    stmt = insert(table)
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in updated}), rows)
