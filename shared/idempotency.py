"""Idempotency-Key handling for POSTs, stored in the service's own database.

First request with a key claims it (in_flight, with a lease); the response is stored when
it is done and replayed for the same key and body (`Idempotent-Replayed: true`). A different
body is 422; a claim still in flight is 409. A claim whose lease ran out (its process died)
may be taken over: the handlers also record the key on the resource they create, under a
unique constraint, so a takeover finds the first effect instead of making a second.

Where the whole effect lies in the service's own database (a gift, a withdrawal), the key is
claimed at the end of the request's own transaction, together with its answer, in one statement
(`settle_in`): the effect, the key and the stored response commit together, so a crash leaves
nothing behind, and the request costs no extra round trip. A duplicate of a committed request
finds the key taken there, rolls its own work back and replays the stored answer; one whose
first is still uncommitted usually waits on the same rows (the sender's wallet) and then does the
same. On PostgreSQL the claim also takes a transaction-scoped advisory lock on the key without
waiting, so a duplicate that reaches the claim while the first is uncommitted gets 409 at once
instead of blocking on the unique index.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shared.clock import utcnow
from shared.db import DriverStatement, insert_ignore, lock_for_update, retry_transient
from shared.errors import Problem

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON: the body itself is refused later, by json_body
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str | None, *, required: bool) -> str | None:
    if key is None or key == "":
        if required:
            raise Problem(400, "Idempotency-Key required", "This request moves money: send an Idempotency-Key "
                          "header (for example a UUID) so that a retry cannot apply it twice.",
                          code="idempotency-key-required", errors={"Idempotency-Key": ["Missing header."]})
        return None
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(400, "Invalid Idempotency-Key", f"The key must be 1-{MAX_KEY_LENGTH} printable characters.",
                      code="idempotency-key-invalid", errors={"Idempotency-Key": ["Invalid header."]})
    return key


# Claim a key (with its answer) only if no other transaction is claiming it right now: no
# waiting on its row.
_PG_SETTLE = DriverStatement(sa.text(
    "INSERT INTO idempotency_keys (caller, key, request_hash, state, lease_until, created_at, response_status, "
    "response_body, completed_at) "
    "SELECT :caller, :key, :request_hash, 'done', :now, :now, :response_status, :response_body, :now "
    "WHERE pg_try_advisory_xact_lock(:lock) "
    "ON CONFLICT (caller, key) DO NOTHING RETURNING key"))


@lru_cache(maxsize=None)
def _complete_statement(table: sa.Table):
    return table.update().where(table.c.caller == sa.bindparam("p_caller"), table.c.key == sa.bindparam("p_key"))


def _lock_id(caller: str, key: str) -> int:
    digest = hashlib.blake2b(f"{caller}\n{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _reused() -> Problem:
    return Problem(422, "Idempotency-Key reused", "This Idempotency-Key was used with a different request; use a "
                   "new key for a new request.", code="idempotency-key-reused",
                   errors={"Idempotency-Key": ["Already used with a different request body."]})


def _in_flight() -> Problem:
    return Problem(409, "Request in flight", "A request with this Idempotency-Key is still being processed; "
                   "retry later.", code="idempotency-key-in-flight", headers={"Retry-After": "1"})


class IdempotencyStore:
    def __init__(self, engine: Engine, table: sa.Table, lease_seconds: int):
        self.engine = engine
        self.table = table
        self.lease = timedelta(seconds=lease_seconds)

    def claim(self, caller: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim the key for this request; returns the stored response if it was already done."""
        return retry_transient(lambda: self._claim(caller, key, fingerprint))

    def _claim(self, caller: str, key: str, fingerprint: str) -> StoredResponse | None:
        t = self.table
        now = utcnow()
        with self.engine.begin() as conn:
            if insert_ignore(conn, t, {"caller": caller, "key": key, "request_hash": fingerprint,
                                       "state": "in_flight", "lease_until": now + self.lease, "created_at": now},
                             ["caller", "key"]):
                return None
            row = conn.execute(lock_for_update(sa.select(t).where(t.c.caller == caller, t.c.key == key), conn)).one()
            if row.request_hash != fingerprint:
                raise _reused()
            if row.state == "done":
                return StoredResponse(row.response_status, row.response_body)
            if row.lease_until > now:
                raise _in_flight()
            conn.execute(t.update().where(t.c.caller == caller, t.c.key == key)
                         .values(lease_until=now + self.lease))
            return None

    def settle_in(self, conn: Connection, caller: str, key: str, fingerprint: str, status: int,
                  body: str) -> StoredResponse | None:
        """Claim the key with this request's answer, inside the request's transaction, once its
        work is done (see the module notes). None: the key is this request's, commit. A stored
        response: the key was already used for this request, roll back and answer with it.
        Raises 409 while another request holds the key, 422 if it was used for another body."""
        now = utcnow()
        if conn.dialect.name == "postgresql":
            claimed = _PG_SETTLE(conn, {
                "caller": caller, "key": key, "request_hash": fingerprint, "now": now, "response_status": status,
                "response_body": body, "lock": _lock_id(caller, key)}).first() is not None
        else:  # SQLite: BEGIN IMMEDIATE already makes this transaction the only writer
            claimed = insert_ignore(conn, self.table, {
                "caller": caller, "key": key, "request_hash": fingerprint, "state": "done", "lease_until": now,
                "created_at": now, "response_status": status, "response_body": body, "completed_at": now},
                ["caller", "key"])
        if claimed:
            return None
        stored = self.stored_in(conn, caller, key, fingerprint, missing_is_in_flight=True)
        if stored is not None:
            return stored
        # A lapsed lease-mode claim (its process died): take it over with this answer (the lock above is ours).
        conn.execute(_complete_statement(self.table), {
            "p_caller": caller, "p_key": key, "state": "done", "response_status": status, "response_body": body,
            "completed_at": now})
        return None

    def stored_in(self, conn: Connection, caller: str, key: str, fingerprint: str, *,
                  missing_is_in_flight: bool = False) -> StoredResponse | None:
        """The response stored for the key; None if there is none (or a lapsed lease-mode claim).
        Raises 409 while another request holds the key, 422 if it was used for another body."""
        t = self.table
        row = conn.execute(sa.select(t).where(t.c.caller == caller, t.c.key == key)).first()
        if row is None:
            if missing_is_in_flight:  # held under the advisory lock by an uncommitted claim
                raise _in_flight()
            return None
        if row.state == "in_flight" and row.lease_until > utcnow():
            raise _in_flight()
        if row.request_hash != fingerprint:
            raise _reused()
        if row.state == "done":
            return StoredResponse(row.response_status, row.response_body)
        return None

    def complete(self, caller: str, key: str, status: int, body: str) -> None:
        t = self.table

        def _complete():
            with self.engine.begin() as conn:
                conn.execute(t.update().where(t.c.caller == caller, t.c.key == key).values(
                    state="done", response_status=status, response_body=body, completed_at=utcnow()))
        retry_transient(_complete)

    def release(self, caller: str, key: str) -> None:
        """Forget an in-flight claim whose request failed without a response worth replaying."""
        t = self.table

        def _release():
            with self.engine.begin() as conn:
                conn.execute(t.delete().where(t.c.caller == caller, t.c.key == key, t.c.state == "in_flight"))
        retry_transient(_release)
