"""Gifting's repositories: the abstract ports the handlers use, and their SQLAlchemy Core
adapters on the unit of work's connection (the in-memory fakes are in tests/fakes).

The gift path's statements are built once at import (building a Core statement per call costs
more than executing it: SQLAlchemy caches the compiled form, not the construction). `SPEND` is
the conditional debit, on every database. `SENDS[claiming, granted]` is the whole gift on
PostgreSQL in one statement, that also claims the request's Idempotency-Key (`claiming`:
`_claim_key`, the key's row, done, written here so that the whole keyed request is one round
trip; the wrapper shared.idempotency.http hands over the row's values and answers a retry) and
spends its user grant (`granted`, shared.auth.onbehalf); `send_params` fills in any of them. They
serve one port, `AbstractGiftRepository.send`, whose contract the integration tests hold on
PostgreSQL and SQLite. Two round-trip savers hand that statement straight to the driver:
`DriverStatement` (compiled once, run without SQLAlchemy's per-execution work) and
`own_transaction_if_first` (a transaction's only statement commits on its own).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.gifting.adapters.orm import gifts, tables, wallet_entries, wallets
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet
from shared.auth.onbehalf import UserGrant, replayed
from shared.clock import utcnow
from shared.db.engines import StaleRead, lock_for_update
from shared.db.tables import record_used_grant
from shared.db.upserts import insert_ignore
from shared.idempotency import DONE
from shared.messaging.uow import Outbox

# The step-by-step gift's inserts, built once like the statements below.
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
        """One statement on PostgreSQL (`SENDS`); elsewhere the conditional debit, then the inserts."""
        if self.conn.dialect.name == "postgresql":
            return self._send_in_one_statement(gift, coins=coins, event=event, grant=grant)
        return self._send_step_by_step(gift, coins=coins, event=event, grant=grant)

    def _send_in_one_statement(self, gift: dict, *, coins: int, event: dict, grant: UserGrant | None) -> Wallet | None:
        """With a `key_row`, the statement also claims the request's key and, as the transaction's
        first, commits on its own: the whole keyed request is one round trip."""
        now = utcnow()
        params = send_params(gift, coins=coins, event=event, now=now, key_row=self.key_row, grant=grant)
        statement = SENDS[self.key_row is not None, grant is not None]
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
        row = self.conn.execute(SPEND, params).first()
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


# -- the gift path's statements -----------------------------------------------------------------
# Take coins from an active wallet that holds them, in one conditional UPDATE: however many
# spends race, none sees a stale balance and none takes it below zero (the CHECK constraint is
# the last line). No row if the wallet is missing, frozen or short of coins.
SPEND = (
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
GIFT_FIELDS = [c.name for c in gifts.c if c.name != "balance_after"]  # what the caller gives of a gift
EVENT_FIELDS = [c.name for c in tables["outbox"].c if c.name != "id"]  # of an outbox row


def send_params(
    gift: dict,
    *,
    coins: int,
    event: dict,
    now: datetime,
    key_row: dict | None = None,
    grant: UserGrant | None = None,
) -> dict:
    """The parameters of `SENDS` for one gift, with the key's row to claim (plain values: caller,
    key, request_hash, owner, status; claimed with the gift's id) and the grant to spend."""
    claim = {} if key_row is None else {f"k_{name}": value for name, value in key_row.items()}
    spent = {f"u_{name}": value for name, value in grant.row(now).items()} if grant is not None else {}
    return {
        **claim,
        **spent,
        "p_user_id": gift["sender_id"],
        "p_coins": coins,
        "p_delta": -coins,
        "p_now": now,
        **{f"g_{name}": gift[name] for name in GIFT_FIELDS},
        **{f"e_{name}": event[name] for name in EVENT_FIELDS},
    }


def _send_statement(*, claiming: bool, granted: bool) -> sa.Select:
    """The whole of a gift, in one statement: the conditional debit, and, only if it took the
    coins, the gift, its ledger entry, its outbox row, (`claiming`) the request's key and
    (`granted`) its spent grant (data-modifying CTEs run once, together, on one snapshot; a key
    or a grant already recorded fails the whole statement on its primary key). Returns the
    debited wallet, or no row if refused."""
    debit = SPEND.cte("debit")
    ctes = [_insert_gift(debit), _insert_entry(debit), _insert_event(debit)]
    if claiming:
        ctes.append(_claim_key(debit))
    if granted:
        ctes.append(_insert_grant(debit))
    return sa.select(*debit.c).add_cte(*ctes)


def _claim_key(debit: sa.CTE) -> sa.CTE:
    """INSERT the key's row, done, once per row of the debit (no coins taken, no claim). A key
    already recorded fails the whole statement on its primary key: nothing of it stays, and the
    wrapper replays the answer recorded (or runs again with the key settled at the end)."""
    keys = tables["idempotency_keys"]
    now = sa.bindparam("p_now", type_=keys.c.created_at.type)
    columns = ["caller", "key", "request_hash", "state", "owner", "resource_id", "lease_until", "created_at"]
    values = sa.select(
        *(sa.bindparam(f"k_{name}", type_=sa.String) for name in ("caller", "key", "request_hash")),
        sa.literal(DONE, sa.String),
        sa.bindparam("k_owner", type_=sa.String),
        sa.bindparam("g_gift_tx_id", type_=sa.String),
        now,
        now,
        sa.bindparam("k_status", type_=sa.Integer),
        now,
    ).select_from(debit)
    return keys.insert().from_select([*columns, "response_status", "completed_at"], values).cte("claim")


def _insert_grant(debit: sa.CTE) -> sa.CTE:
    used = tables["used_grants"]
    names = [c.name for c in used.c]
    values = sa.select(*(sa.bindparam(f"u_{name}", type_=used.c[name].type) for name in names))
    return used.insert().from_select(names, values.select_from(debit)).cte("spent_grant")


def _insert_gift(debit: sa.CTE) -> sa.CTE:
    values = (sa.bindparam(f"g_{name}", type_=gifts.c[name].type) for name in GIFT_FIELDS)
    return (
        gifts.insert()
        .from_select(GIFT_FIELDS + ["balance_after"], sa.select(*values, debit.c.balance_coins))
        .cte("gift")
    )


def _insert_entry(debit: sa.CTE) -> sa.CTE:
    return (
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


def _insert_event(debit: sa.CTE) -> sa.CTE:
    outbox = tables["outbox"]
    values = sa.select(*(sa.bindparam(f"e_{name}", type_=outbox.c[name].type) for name in EVENT_FIELDS))
    return outbox.insert().from_select(EVENT_FIELDS, values.select_from(debit)).cte("event")


# -- straight to the driver -----------------------------------------------------------------------
class DriverStatement:
    """A Core statement compiled once and run with `exec_driver_sql`, for the few statements on
    the hottest path where SQLAlchemy's per-execution work (cache lookup, bind processing of
    every parameter) costs more than the statement itself. Errors, events and the pool behave
    as for any statement. Parameters reach the driver as given, so they must be what the driver
    takes (str, int, None, timezone-aware datetimes); for named-parameter drivers (psycopg)."""

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict]] = {}

    def __call__(self, conn: Connection, params: dict):
        compiled = self._compiled.get(conn.dialect.name)
        if compiled is None:
            if conn.dialect.paramstyle not in ("pyformat", "named"):
                raise TypeError(f"DriverStatement needs named parameters, not {conn.dialect.paramstyle}")
            built = self.statement.compile(dialect=conn.dialect)
            constants = {
                name: bind.value
                for bind, name in built.bind_names.items()
                if not bind.required and bind.callable is None
            }  # literals inside the statement
            compiled = self._compiled[conn.dialect.name] = (str(built), constants)
        sql, constants = compiled
        return conn.exec_driver_sql(sql, {**constants, **params} if constants else params)


@contextmanager
def own_transaction_if_first(conn: Connection) -> Iterator[bool]:
    """For a transaction whose whole effect is the one statement inside: let it commit on its
    own (driver autocommit) when the connection's transaction has sent nothing to PostgreSQL yet.
    It then costs one round trip instead of three (BEGIN, the statement, COMMIT), and the later
    commit of the transaction has nothing left to send. Yields True if so; False where the
    transaction has begun (the statement joins it) or on another database. A statement after it
    would start a transaction of its own: the caller makes sure no other write follows."""
    if conn.dialect.name != "postgresql":
        yield False
        return
    import psycopg

    driver = conn.connection.driver_connection
    if driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        yield False
        return
    driver.autocommit = True
    try:
        yield True
    finally:
        try:
            driver.autocommit = False
        except psycopg.Error:  # the connection broke under the statement: never hand it out again
            conn.invalidate()


SENDS = {  # PostgreSQL only
    (claiming, granted): DriverStatement(_send_statement(claiming=claiming, granted=granted))
    for claiming in (False, True)
    for granted in (False, True)
}
