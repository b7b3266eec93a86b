"""Many rows in one statement, the same on PostgreSQL (one array per column) and SQLite: plain
(`insert_many`), skipping the rows whose key exists (`insert_ignore`, one row;
`insert_ignore_many`), replacing columns of those that exist (`upsert_many`) or adding to their
counters (`add_to_columns`).

General tools: `insert_ignore` serves every service and the key store, `insert_ignore_many` the
inbox, the key store's batches and payout's earnings, `insert_many` gifting's batches,
`upsert_many` those and the key store's, `add_to_columns` any table of counters by key (today
payout's creator accounts).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shared.db.pg_arrays import as_arrays, unnest_insert


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


def insert_ignore_many(
    conn: Connection, table: sa.Table, rows: list[dict], conflict_cols: list[str], returning: str
) -> set:
    """INSERT many rows, skipping those whose key exists (or repeats earlier in `rows`); returns
    the `returning` column of the rows inserted. One statement, whatever the count."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        columns = tuple(rows[0])
        stmt = unnest_insert(
            table,
            columns,
            f"ON CONFLICT ({_quoted(conn, conflict_cols)}) DO NOTHING RETURNING {_quoted(conn, [returning])}",
        )
        return set(conn.execute(stmt, as_arrays(conn, table, columns, rows)).scalars().all())
    insert = _dialect_insert(conn)
    stmt = insert(table).on_conflict_do_nothing(index_elements=conflict_cols).returning(table.c[returning])
    return set(conn.execute(stmt, rows).scalars().all())


def insert_many(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[dict]) -> None:
    """One INSERT of many rows (their `columns`), whatever the count."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(unnest_insert(table, columns, ""), as_arrays(conn, table, columns, rows))
    else:
        conn.execute(table.insert(), [{c: row[c] for c in columns} for row in rows])


def upsert_many(conn: Connection, table: sa.Table, key: list[str], updated: tuple[str, ...], rows: list[dict]) -> None:
    """One INSERT ... ON CONFLICT (key) DO UPDATE SET the `updated` columns from the new row."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        columns, q = tuple(rows[0]), conn.dialect.identifier_preparer.quote
        sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in updated)
        tail = f"ON CONFLICT ({_quoted(conn, key)}) DO UPDATE SET {sets}"
        conn.execute(unnest_insert(table, columns, tail), as_arrays(conn, table, columns, rows))
        return
    stmt = _dialect_insert(conn)(table)
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in updated}), rows)


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
        stmt = unnest_insert(table, names, f"ON CONFLICT ({q(key)}) DO UPDATE SET {', '.join(updates)}")
        conn.execute(stmt, as_arrays(conn, table, names, rows))
        return
    insert = _dialect_insert(conn)
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[key], set_={**{c: _exact_sum(table.c[c], stmt.excluded[c]) for c in columns}, **bump}
    )
    conn.execute(stmt, rows)


def _exact_sum(column, amount):
    """column + amount on SQLite, which turns an integer sum past 2**63 - 1 into an inexact REAL
    where PostgreSQL raises: NULL then, so the column's NOT NULL refuses the write as PostgreSQL
    would (an IntegrityError: the event is dead-lettered, nothing changed)."""
    total = column + amount
    return sa.case((sa.func.typeof(total) == "integer", total), else_=sa.null())


def _dialect_insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _quoted(conn: Connection, names: list[str]) -> str:
    return ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
