"""A SQLite file switched to WAL while another connection is inside a write: SQLite refuses the
switch at once (no busy wait), which failed a sandbox's gunicorn worker at boot when its sibling
was creating the schema; shared.db.engines.sqlite_wal tries again until the write is done."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from shared.db.engines import sqlite_wal


def _writer_inside_a_write(path):
    writer = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    return writer


def test_sqlite_refuses_the_switch_at_once_while_another_connection_writes(tmp_path):
    writer = _writer_inside_a_write(tmp_path / "new.db")
    other = sqlite3.connect(tmp_path / "new.db", timeout=30, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("PRAGMA journal_mode=WAL")  # what the boot did before: no busy wait
    writer.execute("COMMIT")


def test_the_switch_waits_for_the_write_and_then_holds(tmp_path):
    writer = _writer_inside_a_write(tmp_path / "new.db")
    other = sqlite3.connect(tmp_path / "new.db", timeout=30, isolation_level=None)
    committing = threading.Event()

    def commit_soon():
        committing.set()  # before the COMMIT: the switch can only succeed after it
        writer.execute("COMMIT")

    threading.Timer(0.2, commit_soon).start()
    sqlite_wal(other)
    assert committing.is_set()
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_switch_gives_up_after_its_deadline(tmp_path):
    writer = _writer_inside_a_write(tmp_path / "new.db")
    other = sqlite3.connect(tmp_path / "new.db", timeout=30, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite_wal(other, deadline_s=0.1)
    writer.execute("COMMIT")
