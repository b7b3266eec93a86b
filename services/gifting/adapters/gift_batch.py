"""A batch of gifts in a handful of set-wise statements, however many gifts it carries: the port
`AbstractGiftBatchRepository` (adapters/repository.py) on SQLAlchemy Core.

One transaction, its entry point's, in this order (each a lock order, so concurrent batches
cannot deadlock, and a single gift takes its wallet before its key too): lock the senders'
wallets (one SELECT ... FOR UPDATE ordered by user_id) and read which grants are spent; the entry
point claims the items' Idempotency-Keys (keys sorted), the handler decides item by item in
Python, and the entry point settles the keys (shared.idempotency.http `answer_items`); then gifts,
ledger entries, outbox rows, spent grants and wallets are written with one statement each (on
PostgreSQL one array per column, shared.db.upserts; on SQLite an executemany, in process). A
grant is spent by its user's gift only, and every spend of it holds that user's wallet locked
first, so reading `used_grants` under the lock is race-free.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.gifting.adapters.orm import gifts, tables, wallet_entries, wallets
from services.gifting.adapters.repository import AbstractGiftBatchRepository
from services.gifting.domain.model import GiftTransaction, Wallet
from shared.clock import utcnow
from shared.db.engines import StaleRead, lock_for_update
from shared.db.upserts import insert_many, upsert_many

USED_GRANTS = tables["used_grants"]
OUTBOX = tables["outbox"]
_GIFT_COLUMNS = tuple(c.name for c in gifts.c)
_ENTRY_COLUMNS = ("user_id", "kind", "delta_coins", "balance_after", "reference", "created_at")
_EVENT_COLUMNS = tuple(c.name for c in OUTBOX.c if c.name != "id")


class SqlAlchemyGiftBatchRepository(AbstractGiftBatchRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

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

    def record(self, made: list, *, wallets_after: list[Wallet]) -> None:
        """Write the batch: `made` (gift fields with balance_after, its outbox row, its grant or
        None) and the debited wallets."""
        now = utcnow()
        insert_many(self.conn, gifts, _GIFT_COLUMNS, [gift for gift, _, _ in made])
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
        insert_many(self.conn, wallet_entries, _ENTRY_COLUMNS, entries)
        insert_many(self.conn, OUTBOX, _EVENT_COLUMNS, [event for _, event, _ in made])
        used = [grant.row(now) for _, _, grant in made if grant is not None]
        try:
            insert_many(self.conn, USED_GRANTS, tuple(c.name for c in USED_GRANTS.c), used)
        except IntegrityError as exc:
            # Spent since it was read: by a request of another user (an issuer that gave two
            # users' grants one jti; a user's own spends wait on their wallet's lock). The batch
            # is answered again from the start, where that item is refused as replayed.
            raise StaleRead("a user grant of the batch was spent meanwhile") from exc
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
        upsert_many(self.conn, wallets, ["user_id"], ("balance_coins", "version", "updated_at"), debited)
