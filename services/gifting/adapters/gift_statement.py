"""The gift path's statements, built once at import (building a Core statement per call costs
more than executing it: SQLAlchemy caches the compiled form, not the construction), and how the
hottest of them reaches PostgreSQL in one round trip.

`SPEND` is the conditional debit, on every database. `SENDS[claiming, granted]` is the whole
gift on PostgreSQL in one statement, that also claims the request's Idempotency-Key (`claiming`:
`_claim_key`, the key's row, done, written here so that the whole keyed request is one round trip;
the wrapper shared.idempotency.http hands over the row's values and answers a retry) and spends its
user grant (`granted`, shared.auth.onbehalf); `send_params` fills in any of them. They serve one
port, `AbstractGiftRepository.send` (adapters/repository.py), whose contract the integration tests
hold on PostgreSQL and SQLite.

Two round-trip savers hand that statement straight to the driver: `DriverStatement` (compiled
once, run without SQLAlchemy's per-execution work) and `own_transaction_if_first` (a
transaction's only statement commits on its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from services.gifting.adapters.orm import gifts, tables, wallet_entries, wallets
from shared.auth.onbehalf import UserGrant
from shared.idempotency import DONE

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
