"""Two round-trip savers for the hottest path on PostgreSQL, both handing work straight to the
driver: `DriverStatement` (a statement compiled once, run without SQLAlchemy's per-execution
work) and `own_transaction_if_first` (a transaction's only statement commits on its own).

Private to gifting: the gift's statement (gift_statement.py, run by repository.py) is the only
statement on a path hot enough for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection


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
