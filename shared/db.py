"""Database engines and transactions that behave the same on PostgreSQL and SQLite.

SQLite is the embedded default, written by several processes at once, so every
transaction there starts with BEGIN IMMEDIATE (one writer at a time, no lock-upgrade
deadlocks), in WAL mode with a busy timeout. PostgreSQL gets a pooled psycopg engine.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Autoincrementing 64-bit keys; SQLite only autoincrements a column typed INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Accept plain postgres URLs and point them at the psycopg 3 driver."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> Engine:
    url = normalise_url(url)
    max_overflow = pool_size if max_overflow is None else max_overflow
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=sa.pool.QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    # No pool_pre_ping: it costs a round trip per checkout. A connection that died with its
    # server fails its first statement as transient and the caller retries (see shared.web).
    # hide_parameters: a statement's values (payout accounts, e-mails) never reach an error's text.
    # connect_timeout and pool_timeout bound what a dead or saturated server can make a caller wait.
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
        hide_parameters=True,
    )


def service_engine(common) -> Engine:
    """A service's engine, sized by its settings (DATABASE_POOL_SIZE, DATABASE_MAX_OVERFLOW)."""
    return make_engine(common.database_url, pool_size=common.db_pool_size, max_overflow=common.db_max_overflow)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Hand transaction control to SQLAlchemy (pysqlite's own is not savepoint-safe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection whose statements all see one committed state.

    Figures read with several statements (the auditor's totals) must not mix states from
    before and after a concurrent commit. PostgreSQL's READ COMMITTED gives each statement
    its own snapshot, so this runs at REPEATABLE READ; SQLite's BEGIN IMMEDIATE already
    holds one state for the whole transaction.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def safe_error(exc: BaseException) -> str:
    """An error for a log line or a dead-letter header, never a row's values: SQLAlchemy's text
    carries the statement's parameters (payout accounts, e-mails) and PostgreSQL's DETAIL lines
    repeat the failing row, so a database error is its driver's class and first line only."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [""])[0]
        return f"{type(exc.orig).__name__}: {first}"
    return f"{type(exc).__name__}: {exc}"


class StaleRead(Exception):
    """A row changed between read and write (optimistic check failed): retry the transaction."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: lost connections, lock timeouts, serialization failures, stale reads."""
    if isinstance(exc, StaleRead):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return False


def retry_transient(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.05, max_delay: float = 2.0) -> T:
    """Run fn, retrying transient database errors with jittered exponential backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            if not is_transient(exc) or attempt == attempts:
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random())
            log.warning(
                "transient database error, retrying", extra={"attempt": attempt, "error": safe_error(exc)[:200]}
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


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


def lock_for_update(stmt, conn: Connection):
    """SELECT ... FOR UPDATE where the database has row locks (SQLite serialises writers anyway)."""
    return stmt.with_for_update() if conn.dialect.name != "sqlite" else stmt


def _dialect_insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_ignore_many(
    conn: Connection, table: sa.Table, rows: list[dict], conflict_cols: list[str], returning: str
) -> set:
    """INSERT many rows, skipping those whose key exists (or repeats earlier in `rows`); returns
    the `returning` column of the rows inserted. One statement, whatever the count."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        columns = tuple(rows[0])
        stmt = _pg_unnest_insert(
            table,
            columns,
            f"ON CONFLICT ({_quoted(conn, conflict_cols)}) DO NOTHING RETURNING {_quoted(conn, [returning])}",
        )
        return set(conn.execute(stmt, _as_arrays(conn, table, columns, rows)).scalars().all())
    insert = _dialect_insert(conn)
    stmt = insert(table).on_conflict_do_nothing(index_elements=conflict_cols).returning(table.c[returning])
    return set(conn.execute(stmt, rows).scalars().all())


def add_to_columns(
    conn: Connection, table: sa.Table, key: str, increments: dict, columns: list[str], defaults: dict
) -> None:
    """Upsert: for each key in `increments` ({key: {column: amount}}), add the amounts to its row,
    creating the row from `defaults` first (and bumping `version` where the table has one). Keys go
    in sorted order, so two such batches cannot deadlock on each other."""
    if not increments:
        return
    rows = [{**defaults, key: k, **increments[k]} for k in sorted(increments)]
    bump = {"version": table.c.version + 1} if "version" in table.c else {}
    if conn.dialect.name == "postgresql":
        names = tuple(rows[0])
        q = conn.dialect.identifier_preparer.quote
        updates = [f"{q(c)} = {q(table.name)}.{q(c)} + EXCLUDED.{q(c)}" for c in columns]
        updates += [f"{q(c)} = {q(table.name)}.{q(c)} + 1" for c in bump]
        stmt = _pg_unnest_insert(table, names, f"ON CONFLICT ({q(key)}) DO UPDATE SET {', '.join(updates)}")
        conn.execute(stmt, _as_arrays(conn, table, names, rows))
        return
    insert = _dialect_insert(conn)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[key], set_={**{c: table.c[c] + stmt.excluded[c] for c in columns}, **bump}
    )
    conn.execute(stmt, rows)


# PostgreSQL takes a whole batch as one array per column (INSERT ... SELECT FROM unnest(...)):
# a handful of parameters instead of one per value, several times cheaper than a multi-row VALUES.
@cache
def _pg_unnest_insert(table: sa.Table, columns: tuple[str, ...], tail: str) -> sa.TextClause:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    q = dialect.identifier_preparer.quote
    arrays = ", ".join(f"CAST(:{c} AS {table.c[c].type.compile(dialect=dialect)}[])" for c in columns)
    return sa.text(
        f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in columns)}) SELECT * FROM unnest({arrays}) {tail}"
    )


def _as_arrays(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[dict]) -> dict:
    """One PostgreSQL array literal per column (the statement casts each to its column's array
    type): psycopg dumps a list element by element in Python, ten times slower than this."""
    arrays = {}
    for name in columns:
        values = [row[name] for row in rows]
        column_type = table.c[name].type
        if isinstance(column_type, sa.TypeDecorator):  # e.g. UTCDateTime refuses naive timestamps
            values = [column_type.process_bind_param(v, conn.dialect) for v in values]
        arrays[name] = array_literal(values)
    return arrays


def array_literal(values: list) -> str:
    """The text form of a one-dimensional PostgreSQL array: every element but NULL quoted, with
    backslashes and double quotes escaped; PostgreSQL casts each element to the array's type."""
    out = []
    for value in values:
        if value is None:
            out.append("NULL")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, int):
            out.append(str(value))
        else:
            text = value.isoformat() if isinstance(value, datetime) else str(value)
            out.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def _quoted(conn: Connection, names: list[str]) -> str:
    return ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)


def insert_ignore(conn: Connection, table: sa.Table, values: dict, conflict_cols: list[str]) -> bool:
    """INSERT that does nothing if a row with the same key exists; True if a row was inserted."""
    insert = _dialect_insert(conn)
    stmt = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_cols)
        .returning(table.c[conflict_cols[0]])
    )
    return conn.execute(stmt).first() is not None  # rowcount is not reliable here across drivers
