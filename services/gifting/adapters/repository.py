"""Gifting's repositories: the abstract ports the handlers use, and their SQLAlchemy Core
adapters on the unit of work's connection (the in-memory fakes are in tests/fakes)."""

from __future__ import annotations

import abc

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.gifting.adapters.orm import gifts, tables, wallet_entries, wallets
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet
from shared.clock import utcnow
from shared.db import lock_for_update
from shared.db_errors import StaleRead
from shared.driver_sql import DriverStatement, own_transaction_if_first
from shared.idempotency import Claim
from shared.idempotency_pg import claim_cte
from shared.outbox import Outbox
from shared.upserts import insert_ignore

# The gift path's statements, built once: building a Core statement per call costs more than
# executing it (SQLAlchemy caches the compiled form, not the construction).
# Take coins from an active wallet that holds them, in one conditional UPDATE: however many
# spends race, none sees a stale balance and none takes it below zero (the CHECK constraint is
# the last line). No row if the wallet is missing, frozen or short of coins.
_SPEND = (
    wallets.update()
    .where(
        wallets.c.user_id == sa.bindparam("p_user_id"),
        wallets.c.debt_coins == 0,
        wallets.c.balance_coins >= sa.bindparam("p_coins"),
    )
    .values(
        balance_coins=wallets.c.balance_coins - sa.bindparam("p_coins"),
        version=wallets.c.version + 1,
        updated_at=sa.bindparam("p_now"),
    )
    .returning(*wallets.c)
)
_ADD_GIFT = gifts.insert()
_ADD_ENTRY = wallet_entries.insert().inline()
_GIFT_FIELDS = [c.name for c in gifts.c if c.name != "balance_after"]
_EVENT_FIELDS = [c.name for c in tables["outbox"].c if c.name != "id"]


def _send_statement(*, claiming: bool) -> sa.Select:
    """The whole of a gift on PostgreSQL, in one statement: the conditional debit, and, only if
    it took the coins, the gift, its ledger entry, its outbox row and (`claiming`) the request's
    Idempotency-Key (data-modifying CTEs run once, together, on one snapshot). Returns the
    debited wallet, or no row if refused."""
    debit = _SPEND.cte("debit")
    gift = (
        gifts.insert()
        .from_select(
            _GIFT_FIELDS + ["balance_after"],
            sa.select(
                *(sa.bindparam(f"g_{name}", type_=gifts.c[name].type) for name in _GIFT_FIELDS), debit.c.balance_coins
            ),
        )
        .cte("gift")
    )
    entry = (
        wallet_entries.insert()
        .from_select(
            ["user_id", "kind", "delta_coins", "balance_after", "reference", "created_at"],
            sa.select(
                debit.c.user_id,
                sa.literal("gift", sa.String),
                sa.bindparam("p_delta", type_=sa.BigInteger),
                debit.c.balance_coins,
                sa.bindparam("g_gift_tx_id", type_=sa.String),
                sa.bindparam("p_now", type_=wallet_entries.c.created_at.type),
            ),
        )
        .cte("entry")
    )
    outbox = tables["outbox"]
    event = (
        outbox.insert()
        .from_select(
            _EVENT_FIELDS,
            sa.select(*(sa.bindparam(f"e_{name}", type_=outbox.c[name].type) for name in _EVENT_FIELDS)).select_from(
                debit
            ),
        )
        .cte("event")
    )
    ctes = [gift, entry, event] + ([claim_cte(tables["idempotency_keys"], debit)] if claiming else [])
    return sa.select(*debit.c).add_cte(*ctes)


_SEND = DriverStatement(_send_statement(claiming=False))  # PostgreSQL only
_SEND_CLAIMING = DriverStatement(_send_statement(claiming=True))


class AbstractWalletRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, user_id: str) -> Wallet | None:
        """The wallet, or None if the user never had coins."""

    @abc.abstractmethod
    def get_or_create_for_update(self, user_id: str) -> Wallet:
        """The wallet, created empty if missing, locked until the transaction ends."""

    @abc.abstractmethod
    def save(self, wallet: Wallet) -> None:
        """Store the wallet if nobody changed it since it was read (else StaleRead); bumps its version."""


class AbstractLedgerRepository(abc.ABC):
    @abc.abstractmethod
    def record(self, *, wallet: Wallet, kind: str, delta_coins: int, reference: str) -> None:
        """Append an entry to the wallet's ledger, with the balance after it."""

    @abc.abstractmethod
    def page(self, user_id: str, *, limit: int, before_id: int | None) -> list[LedgerEntry]:
        """The wallet's entries, newest first, older than `before_id` if given."""


class AbstractGiftRepository(abc.ABC):
    """`send` is the gift path's one port; on PostgreSQL its adapter is a single statement."""

    @abc.abstractmethod
    def send(self, gift: dict, *, coins: int, event: dict, claim: Claim | None = None) -> Wallet | None:
        """Debit the sender `coins` and record the gift (`gift`: its fields but the balance after),
        its ledger entry and its event (an outbox row), and the request's key where
        `claim.in_statement`: all of it, or nothing if the wallet is missing, frozen or short
        of coins (then None). Returns the debited wallet."""

    @abc.abstractmethod
    def get(self, gift_tx_id: str) -> GiftTransaction | None:
        """One gift as it was sent."""

    @abc.abstractmethod
    def leaderboard(self, stream_id: str, *, limit: int) -> list[tuple[str, int, int]]:
        """(sender_id, coins, gifts) of a stream's top gifters, most coins first."""


class SqlAlchemyWalletRepository(AbstractWalletRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def get(self, user_id: str) -> Wallet | None:
        row = self.conn.execute(sa.select(wallets).where(wallets.c.user_id == user_id)).first()
        return _wallet(row) if row else None

    def get_or_create_for_update(self, user_id: str) -> Wallet:
        insert_ignore(
            self.conn,
            wallets,
            {"user_id": user_id, "balance_coins": 0, "debt_coins": 0, "version": 0, "updated_at": utcnow()},
            ["user_id"],
        )
        return _wallet(
            self.conn.execute(lock_for_update(sa.select(wallets).where(wallets.c.user_id == user_id), self.conn)).one()
        )

    def save(self, wallet: Wallet) -> None:
        result = self.conn.execute(
            wallets.update()
            .where(wallets.c.user_id == wallet.user_id, wallets.c.version == wallet.version)
            .values(
                balance_coins=wallet.balance_coins,
                debt_coins=wallet.debt_coins,
                version=wallet.version + 1,
                updated_at=utcnow(),
            )
        )
        if result.rowcount != 1:
            raise StaleRead(f"wallet {wallet.user_id} changed")
        wallet.version += 1


class SqlAlchemyLedgerRepository(AbstractLedgerRepository):
    def __init__(self, conn: Connection):
        self.conn = conn

    def record(self, *, wallet: Wallet, kind: str, delta_coins: int, reference: str) -> None:
        self.conn.execute(
            _ADD_ENTRY,
            {
                "user_id": wallet.user_id,
                "kind": kind,
                "delta_coins": delta_coins,
                "balance_after": wallet.balance,
                "reference": reference,
                "created_at": utcnow(),
            },
        )

    def page(self, user_id: str, *, limit: int, before_id: int | None) -> list[LedgerEntry]:
        query = sa.select(wallet_entries).where(wallet_entries.c.user_id == user_id)
        if before_id is not None:
            query = query.where(wallet_entries.c.entry_id < before_id)
        rows = self.conn.execute(query.order_by(wallet_entries.c.entry_id.desc()).limit(limit)).all()
        return [
            LedgerEntry(r.entry_id, r.user_id, r.kind, r.delta_coins, r.balance_after, r.reference, r.created_at)
            for r in rows
        ]


class SqlAlchemyGiftRepository(AbstractGiftRepository):
    def __init__(self, conn: Connection, outbox: Outbox | None):
        self.conn = conn
        self.outbox = outbox

    def send(self, gift: dict, *, coins: int, event: dict, claim: Claim | None = None) -> Wallet | None:
        """One statement on PostgreSQL, which also claims the request's key where
        `claim.in_statement` and, as the transaction's first, commits on its own; elsewhere the
        conditional debit, then three inserts."""
        now = utcnow()
        if self.conn.dialect.name == "postgresql":
            params = {
                "p_user_id": gift["sender_id"],
                "p_coins": coins,
                "p_delta": -coins,
                "p_now": now,
                **{f"g_{name}": gift[name] for name in _GIFT_FIELDS},
                **{f"e_{name}": event[name] for name in _EVENT_FIELDS},
            }
            if claim is None or not claim.in_statement:
                row = _SEND(self.conn, params).first()
            else:
                with own_transaction_if_first(self.conn):
                    row = _SEND_CLAIMING(self.conn, {**params, **claim.params(now, gift["gift_tx_id"])}).first()
            return _wallet(row) if row else None
        row = self.conn.execute(_SPEND, {"p_user_id": gift["sender_id"], "p_coins": coins, "p_now": now}).first()
        if row is None:
            return None
        wallet = _wallet(row)
        self.conn.execute(_ADD_GIFT, {**gift, "balance_after": wallet.balance})
        SqlAlchemyLedgerRepository(self.conn).record(
            wallet=wallet, kind="gift", delta_coins=-coins, reference=gift["gift_tx_id"]
        )
        self.outbox.insert(event)
        return wallet

    def get(self, gift_tx_id: str) -> GiftTransaction | None:
        row = self.conn.execute(sa.select(gifts).where(gifts.c.gift_tx_id == gift_tx_id)).first()
        return GiftTransaction(**row._mapping) if row else None

    def leaderboard(self, stream_id: str, *, limit: int) -> list[tuple[str, int, int]]:
        coins = sa.func.sum(gifts.c.total_coins).label("coins")
        rows = self.conn.execute(
            sa.select(gifts.c.sender_id, coins, sa.func.sum(gifts.c.quantity).label("gifts"))
            .where(gifts.c.stream_id == stream_id)
            .group_by(gifts.c.sender_id)
            .order_by(coins.desc(), gifts.c.sender_id)
            .limit(limit)
        ).all()
        return [(r.sender_id, int(r.coins), int(r.gifts)) for r in rows]


def _wallet(row) -> Wallet:
    return Wallet(user_id=row.user_id, balance_coins=row.balance_coins, debt_coins=row.debt_coins, version=row.version)
