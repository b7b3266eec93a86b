"""What both sandbox processors share: durable state in a SQLite file, scripted delays, the app.

They are test doubles, not money stores: a SQLite file per sandbox (WAL, several gunicorn
workers at once) keeps what they took across workers and restarts, so their dedupe by the
caller's id holds. Settings come from the environment, read once when the app is built:
`<NAME>_SANDBOX_DB` (the file), `SANDBOX_SLOW_MS` (a slow answer), `SANDBOX_HANG_MS` (an answer
that comes after the caller gave up), `SANDBOX_LATER_MS` (how long before a pending outcome fails).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, jsonify

from shared.db.engines import sqlite_wal
from shared.env import Env


@dataclass(frozen=True)
class Timing:
    slow_s: float
    hang_s: float
    later_s: float

    @classmethod
    def from_env(cls) -> Timing:
        def ms(name: str, default: int) -> float:
            return Env().int(name, default) / 1000

        return cls(ms("SANDBOX_SLOW_MS", 1500), ms("SANDBOX_HANG_MS", 30000), ms("SANDBOX_LATER_MS", 2000))


class Store:
    """One SQLite file; a connection per thread; every write its own immediate transaction."""

    def __init__(self, path: Path, schema: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self.conn().executescript(schema)  # IF NOT EXISTS: every worker may run it

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            sqlite_wal(conn)
            self._local.conn = conn
        return conn

    def write(self):
        return _Immediate(self.conn())


class _Immediate:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, *_):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def db_path(name: str) -> Path:
    env = Env()
    default = Path(env.str("COINS_VAR_DIR", "var")) / f"{name}-sandbox.db"
    return Path(env.str(f"{name.upper()}_SANDBOX_DB", str(default))).resolve()


def base_app(name: str) -> Flask:
    app = Flask(f"{name}-sandbox")
    app.json.sort_keys = False

    @app.get("/health/live")
    @app.get("/health/ready")
    def live():
        return jsonify(status="ok")

    return app


def settled_status(row: sqlite3.Row, final: str) -> str:
    """A pending outcome turns into `final` once its time has come (the processor's "later")."""
    if row["status"] == "processing" and row["settles_at"] is not None and time.time() >= row["settles_at"]:
        return final
    return row["status"]


def problem(status: int, detail: str, code: str | None = None):
    """A refusal; `code` names it for a client to act on, as a real processor's error codes do
    (Stripe's `resource_missing`)."""
    return jsonify(title="sandbox refused", status=status, detail=detail, **({"code": code} if code else {})), status


REPORT_PAGE_MAX = 500


def report_page(conn: sqlite3.Connection, table: str, key: str, view, *, cursor: str | None, limit: str | None):
    """One page of a settlement report: rows of `table` after `cursor` (the last `key` of the page
    before), in `key` order, as a processor's report API pages them; (body, status)."""
    try:
        size = min(int(limit or 100), REPORT_PAGE_MAX)
    except ValueError:
        return problem(422, "limit must be an integer")
    if size < 1:
        return problem(422, "limit must be positive")
    rows = conn.execute(
        f"SELECT * FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?",  # noqa: S608 (our own names)
        (cursor or "", size + 1),
    ).fetchall()
    more = len(rows) > size
    rows = rows[:size]
    return jsonify(data=[view(r) for r in rows], next_cursor=rows[-1][key] if more else None), 200
