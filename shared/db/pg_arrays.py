"""A batch as one PostgreSQL array per column: a handful of parameters instead of one per value.

`unnest_insert` is an INSERT ... SELECT FROM unnest(...) of such arrays (several times cheaper
than a multi-row VALUES), `as_arrays` turns a batch of rows into its parameters, and
`array_literal` is the text form of one array (also for `= ANY(CAST(:ids AS BIGINT[]))`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@cache
def unnest_insert(table: sa.Table, columns: tuple[str, ...], tail: str) -> sa.TextClause:
    """INSERT INTO table (columns) SELECT * FROM unnest(one array per column) `tail`; built once."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    q = dialect.identifier_preparer.quote
    arrays = ", ".join(f"CAST(:{c} AS {table.c[c].type.compile(dialect=dialect)}[])" for c in columns)
    return sa.text(
        f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in columns)}) SELECT * FROM unnest({arrays}) {tail}"
    )


def as_arrays(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[dict]) -> dict:
    """One PostgreSQL array literal per column (the statement casts each to its column's array
    type): psycopg dumps a list element by element in Python, ten times slower than this."""
    arrays = {}
    for name in columns:
        values = [row[name] for row in rows]
        column_type = table.c[name].type
        if isinstance(column_type, sa.TypeDecorator):  # e.g. UTCDateTime refuses naive timestamps
            values = _bound(column_type, values, conn.dialect)
        arrays[name] = array_literal(values)
    return arrays


def _bound(column_type: sa.TypeDecorator, values: list, dialect) -> list:
    """Each value as the type binds it, each distinct value once (a batch's timestamps are mostly one)."""
    try:
        bound = {value: column_type.process_bind_param(value, dialect) for value in set(values)}
    except TypeError:  # unhashable values: one by one
        return [column_type.process_bind_param(value, dialect) for value in values]
    return [bound[value] for value in values]


def array_literal(values: list) -> str:
    """The text form of a one-dimensional PostgreSQL array: every element but NULL quoted, with
    backslashes and double quotes escaped; PostgreSQL casts each element to the array's type."""
    if not values:
        return "{}"
    # A batch's columns are mostly all text, all integers or all one timestamp: each such column is
    # written by a few C-level joins and replaces, several times faster than element by element.
    kinds = set(map(type, values))
    if kinds == {str}:
        return _quoted_all(values)
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {datetime}:
        texts = {value: value.isoformat() for value in set(values)}
        return _quoted_all([texts[value] for value in values])
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
            out.append(_quoted(text))
    return "{" + ",".join(out) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_all(texts: list[str]) -> str:
    """`_quoted` of each, joined: escaped all at once, the elements kept apart by NUL (which no
    PostgreSQL text holds: a text with one is quoted alone, for PostgreSQL to refuse)."""
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:
        return "{" + ",".join(_quoted(text) for text in texts) + "}"
    return '{"' + joined.replace("\\", "\\\\").replace('"', '\\"').replace("\0", '","') + '"}'
