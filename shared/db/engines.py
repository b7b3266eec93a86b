"""Database engines, column types and transactions that behave the same on PostgreSQL and SQLite,
and what their errors mean: which are transient and worth retrying (`is_transient`, `StaleRead`),
retrying them (`retry_transient`), and the text of one that is safe to log (`safe_error`).

SQLite is the embedded default, written by several processes at once, so every
transaction there starts with BEGIN IMMEDIATE (one writer at a time, no lock-upgrade
deadlocks), in WAL mode with a busy timeout. PostgreSQL gets a pooled psycopg engine.

The rest of the database toolkit: shared.db.upserts (INSERTs that meet an existing key) and
shared.db.pg_arrays (a batch as one PostgreSQL array per column). The gift path's statements
straight to the driver are gifting's own (services.gifting.adapters.repository).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from shared.clock import utcnow
from shared.credentials import check_database_url, deployment_environment
from shared.env import Env

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
    # server fails its first statement as transient and the caller retries (see shared.http.app).
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


def sqlite_wal(dbapi_conn, deadline_s: float = 30.0) -> None:
    """Put a SQLite file in WAL mode (kept in the file: a no-op once done). Switching needs the
    file to itself, and SQLite refuses at once rather than wait when another connection is inside
    a write (its busy handler would deadlock): several processes opening a new file together
    (gunicorn workers creating their schema) meet that, so the switch is tried again for a while."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.05)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Hand transaction control to SQLAlchemy (pysqlite's own is not savepoint-safe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        sqlite_wal(dbapi_conn)
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


def lock_for_update(stmt, conn: Connection):
    """SELECT ... FOR UPDATE where the database has row locks (SQLite serialises writers anyway)."""
    return stmt.with_for_update() if conn.dialect.name != "sqlite" else stmt


def database_url(service: str, environ: Mapping[str, str] | None = None) -> str:
    """<SERVICE>_DATABASE_URL, or a SQLite file under COINS_VAR_DIR (default ./var). Outside
    COINS_ENV=local|test a default, well-known or short password in it is refused."""
    env = Env(environ)
    name = f"{service.upper()}_DATABASE_URL"
    default = f"sqlite:///{Path(env.str('COINS_VAR_DIR', 'var')).resolve()}/{service}.db"
    url = env.str(name, default)
    check_database_url(name, url, deployment_environment(environ))
    return url


# -- what an error means --------------------------------------------------------------------------
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


# -- this host's clock against the database's -------------------------------------------------------
# Two hosts each this far from the database are twice as far apart: inside the margin a payout's
# landing window adds after its lease (PayoutPolicy.deadline_seconds, 10 s) and a lease's over
# the processor's deadline (60 s over ~6 s).
MAX_CLOCK_SKEW_S = 1.0


class ClockCheck:
    """Leases (a payout's claim, a purchase's) are written with one host's clock and expire by
    another's: a host whose clock runs ahead of the others' by more than a lease's margin takes
    over a claim whose holder is still sending. A background loop that takes claims asks this
    before each turn: it reads the database's clock at most every `every_s` (PostgreSQL; SQLite
    shares its host's clock) and says whether this host is within MAX_CLOCK_SKEW_S of it."""

    def __init__(self, engine: Engine, *, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.engine, self.every_s, self._clock = engine, every_s, clock
        self.skew_s = 0.0
        self._read_at: float | None = None

    def ok(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self.every_s:
                with self.engine.connect() as conn:
                    database_now = conn.execute(sa.text("SELECT clock_timestamp()")).scalar()
                self.skew_s, self._read_at = (utcnow() - database_now).total_seconds(), now
        return abs(self.skew_s) <= MAX_CLOCK_SKEW_S

    def refusal(self) -> str:
        return f"clock {self.skew_s:+.1f} s from the database's (at most {MAX_CLOCK_SKEW_S:g}): no claims taken"

    def allows_claims(self, health, what: str) -> bool:
        """ok(), said to `health` (a readiness check "clock") and, when not, logged as `what` paused."""
        allowed = self.ok()
        if not allowed:
            log.error(f"{what} paused", extra={"reason": self.refusal()})
        health.report("clock", allowed, self.refusal())
        return allowed
