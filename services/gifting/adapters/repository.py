"""Gifting's repositories: the abstract ports the handlers use, and their SQLAlchemy Core
adapters on the unit of work's connection (the in-memory fakes are in tests/fakes)."""

from __future__ import annotations

import abc

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.gifting.adapters import gift_statement
from services.gifting.adapters.gift_statement import own_transaction_if_first
from services.gifting.adapters.orm import gifts, tables, wallet_entries, wallets
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet
from shared.auth.onbehalf import UserGrant, replayed
from shared.clock import utcnow
from shared.db.engines import StaleRead, lock_for_update
from shared.db.tables import record_used_grant
from shared.db.upserts import insert_ignore
from shared.messaging.uow import Outbox

# The step-by-step gift's inserts, built once like gift_statement's.
_ADD_GIFT = gifts.insert()
_ADD_ENTRY = wallet_entries.insert().inline()


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
    def send(self, gift: dict, *, coins: int, event: dict, grant: UserGrant | None = None) -> Wallet | None:
        """Debit the sender `coins` and record the gift (`gift`: its fields but the balance after),
        its ledger entry, its event (an outbox row) and the user grant spent on it: all of it, or
        nothing if the wallet is missing, frozen or short of coins (then None). A grant spent
        already: 403 (shared.auth.onbehalf), nothing written. Returns the debited wallet."""

    @abc.abstractmethod
    def get(self, gift_tx_id: str) -> GiftTransaction | None:
        """One gift as it was sent."""

    @abc.abstractmethod
    def leaderboard(self, stream_id: str, *, limit: int) -> list[tuple[str, int, int]]:
        """(sender_id, coins, gifts) of a stream's top gifters, most coins first."""


class AbstractGiftBatchRepository(abc.ABC):
    """A batch of gifts, decided by the handler item by item between reading and writing; on
    PostgreSQL each method is one set-wise statement or two, whatever the batch size
    (adapters/gift_batch.py). The wallets are read locked; the grants' spends are read under
    those locks (every spend of a grant holds its user's wallet)."""

    @abc.abstractmethod
    def wallets_for_update(self, user_ids) -> dict[str, Wallet]:
        """The wallets that exist among `user_ids`, locked until the transaction ends."""

    @abc.abstractmethod
    def spent_grants(self, grants) -> set[tuple[str, str]]:
        """Which of the (issuer, jti) pairs are spent already (read under the users' wallet locks)."""

    @abc.abstractmethod
    def gifts(self, gift_tx_ids) -> dict[str, GiftTransaction]:
        """The gifts made already, by id (a replay's answer)."""

    @abc.abstractmethod
    def record(self, made: list, *, wallets_after: list[Wallet]) -> None:
        """Write what the batch made: each gift (its fields with balance_after), its outbox row and
        the grant it spent; the debited wallets."""


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
    """`key_row`: the request's Idempotency-Key row as plain values (caller, key, request_hash,
    owner, status), given where the transaction's owner lets the gift's statement claim the key."""

    def __init__(self, conn: Connection, outbox: Outbox | None, key_row: dict | None = None):
        self.conn = conn
        self.outbox = outbox
        self.key_row = key_row

    def send(self, gift: dict, *, coins: int, event: dict, grant: UserGrant | None = None) -> Wallet | None:
        """One statement on PostgreSQL (gift_statement); elsewhere the conditional debit, then the inserts."""
        if self.conn.dialect.name == "postgresql":
            return self._send_in_one_statement(gift, coins=coins, event=event, grant=grant)
        return self._send_step_by_step(gift, coins=coins, event=event, grant=grant)

    def _send_in_one_statement(self, gift: dict, *, coins: int, event: dict, grant: UserGrant | None) -> Wallet | None:
        """With a `key_row`, the statement also claims the request's key and, as the transaction's
        first, commits on its own: the whole keyed request is one round trip."""
        now = utcnow()
        params = gift_statement.send_params(gift, coins=coins, event=event, now=now, key_row=self.key_row, grant=grant)
        statement = gift_statement.SENDS[self.key_row is not None, grant is not None]
        try:
            if self.key_row is None:
                row = statement(self.conn, params).first()
            else:
                with own_transaction_if_first(self.conn):
                    row = statement(self.conn, params).first()
        except IntegrityError as exc:
            if _constraint(exc) == "pk_used_grants":
                raise replayed() from None  # nothing of the statement stays
            raise
        return _wallet(row) if row else None

    def _send_step_by_step(self, gift: dict, *, coins: int, event: dict, grant: UserGrant | None) -> Wallet | None:
        now = utcnow()
        params = {"p_user_id": gift["sender_id"], "p_coins": coins, "p_now": now}
        row = self.conn.execute(gift_statement.SPEND, params).first()
        if row is None:
            return None
        if grant is not None and not record_used_grant(self.conn, tables["used_grants"], grant.row(now)):
            raise replayed()
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


def _constraint(exc: IntegrityError) -> str | None:
    """The constraint a PostgreSQL integrity error names."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def _wallet(row) -> Wallet:
    return Wallet(user_id=row.user_id, balance_coins=row.balance_coins, debt_coins=row.debt_coins, version=row.version)
