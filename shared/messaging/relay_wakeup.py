"""The outbox relay's own PostgreSQL session: LISTEN for the outbox's NOTIFY (sent at commit by a
trigger: shared.db.infra_migrations) and for the switch's (CDC_CHANNEL, sent by coinsctl.cdc when it
moves the outbox between the relay and Debezium), the advisory lock a relay holds while it may
publish, and the one it holds while it waits for a commit (RELAY_WAITING_LOCK: the trigger notifies
only then).

Every wait is bounded; a lost session is opened again on the next call, and until then the relay
polls (and publishes nothing: the lock went with the session).
"""

from __future__ import annotations

import logging
import threading
import time
import zlib

import psycopg
from sqlalchemy.engine import Engine

from shared.db.engines import safe_error
from shared.db.infra_migrations import OUTBOX_CHANNEL, RELAY_WAITING_LOCK

log = logging.getLogger(__name__)

CDC_CHANNEL = "coins_outbox_cdc"  # notified in the transaction that adds or removes outbox_cdc's row


def relay_lock_key(table: str) -> int:
    """The advisory lock of a database's outbox relay (the switch to CDC takes it too)."""
    return zlib.crc32(f"coins.outbox_relay.{table}".encode())


def libpq_url(engine: Engine) -> str:
    """The engine's URL for psycopg itself (no SQLAlchemy driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def wakeup_for(engine: Engine, table: str) -> Wakeup | None:
    if engine is None or engine.dialect.name != "postgresql":  # None: a test relay without a database
        return None
    return Wakeup(libpq_url(engine), relay_lock_key(table))


class Wakeup:
    def __init__(self, url: str, lock_key: int, *, connect_timeout_s: int = 5):
        self._url, self._key, self._connect_timeout_s = url, lock_key, connect_timeout_s
        self._conn: psycopg.Connection | None = None
        self.held = False
        self.waiting = False  # holding RELAY_WAITING_LOCK: every commit that writes the outbox notifies
        self._lock_timeout_ms: int | None = None
        self._switched = True  # whether outbox_cdc may have changed since the relay last read it

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _session(self) -> psycopg.Connection:
        if not self.listening:
            self.held = self.waiting = False
            self._lock_timeout_ms = None
            self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=self._connect_timeout_s)
            self._conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self._conn.execute(f"LISTEN {CDC_CHANNEL}")
            self._switched = True  # a switch's notification may have come while no session listened
        return self._conn

    def listen(self) -> bool:
        """Listen without the lock (a relay standing aside still hears the switch)."""
        try:
            self._session()
        except psycopg.Error as exc:
            log.warning("relay session lost", extra={"error": safe_error(exc)})
            self.close()
        return self.listening

    def hold(self) -> bool:
        """Hold the relay's lock (False while another session has it: another relay, or the switch)."""
        if self.held and self.listening:
            return True
        try:
            self.held = bool(self._session().execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()[0])
        except psycopg.Error as exc:
            log.warning("relay session lost", extra={"error": safe_error(exc)})
            self.close()
        return self.held

    def release(self) -> None:
        """Let the relay's lock go (and stop waiting for commits)."""
        self.stop_waiting()
        if self.held:
            self._unlock(self._key)
        self.held = False

    def start_waiting(self, timeout_ms: int = 10) -> bool:
        """Take RELAY_WAITING_LOCK: from here on every commit that writes the outbox notifies, and
        every one that wrote it without notifying has ended (it held the lock shared until then), so
        a fetch made now sees it. Waits up to `timeout_ms` for such writers' commits (False after:
        writers keep coming, the relay has work)."""
        if not self.waiting:
            try:
                conn = self._session()
                if timeout_ms != self._lock_timeout_ms:  # the session's, for this lock alone
                    conn.execute(f"SET lock_timeout = {int(timeout_ms)}")
                    self._lock_timeout_ms = timeout_ms
                conn.execute("SELECT pg_advisory_lock(%s)", (RELAY_WAITING_LOCK,))
                self.waiting = True
            except psycopg.errors.LockNotAvailable:
                pass
            except psycopg.Error as exc:
                log.warning("relay session lost", extra={"error": safe_error(exc)})
                self.close()
        return self.waiting

    def stop_waiting(self) -> None:
        """Let RELAY_WAITING_LOCK go: the relay fetches again by itself, commits need not notify."""
        if self.waiting:
            self._unlock(RELAY_WAITING_LOCK)
        self.waiting = False

    def _unlock(self, key: int) -> None:
        """Let a session lock go (a lost session let it go already)."""
        if self.listening:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except psycopg.Error:
                self.close()

    def take_switched(self) -> bool:
        """Whether the switch notified (or the session was opened again) since the last call."""
        switched, self._switched = self._switched, False
        return switched

    def wait(self, timeout_s: float, stop: threading.Event) -> bool:
        """Up to `timeout_s` for a notification (True when one came; every one queued is taken)."""
        if not self.listening:
            return False
        deadline = time.monotonic() + timeout_s
        try:
            # In short slices, so that a stop is seen within a tenth of a second.
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                first = list(self._conn.notifies(timeout=min(left, 0.1), stop_after=1))
                if first:
                    channels = {n.channel for n in (*first, *self._conn.notifies(timeout=0))}  # all queued
                    self._switched = self._switched or CDC_CHANNEL in channels
                    return True
        except psycopg.Error as exc:
            log.warning("relay session lost", extra={"error": safe_error(exc)})
            self.close()
        return False

    def close(self) -> None:
        conn, self._conn, self.held, self.waiting = self._conn, None, False, False
        if conn is not None:
            conn.close()
