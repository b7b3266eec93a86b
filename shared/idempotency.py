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

Where that effect is a single statement (a gift on PostgreSQL), the statement claims the key
itself (`KeyClaim`, `claim_cte`) and commits on its own: one round trip for the whole request.
Its row says `done` with the status but no body: the answer is the resource the statement made,
and a retry gets it rendered again from that resource by the view's `replay`.
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
    body: str | None  # None: render the resource the request made again (see KeyClaim)


@dataclass
class KeyClaim:
    """The request's key, for the one statement that makes its effect to claim along with it
    (`claim_cte`); `made` once that statement did. The key's row then holds the status but no
    body: a retry gets the resource the statement made, rendered again."""
    caller: str
    key: str
    fingerprint: str
    status: int = 201
    made: bool = False

    def params(self, now) -> dict:
        """The bind values of `claim_cte`."""
        return {"k_caller": self.caller, "k_key": self.key, "k_request_hash": self.fingerprint,
                "k_status": self.status, "k_now": now}


def claim_cte(table: sa.Table, source) -> sa.CTE:
    """INSERT the key's row, done, once per row of `source` (the effect's CTE: no row, no claim).
    A key already taken makes the whole statement fail on the primary key: nothing of it stays."""
    now = sa.bindparam("k_now", type_=table.c.created_at.type)
    return table.insert().from_select(
        ["caller", "key", "request_hash", "state", "lease_until", "created_at", "response_status", "completed_at"],
        sa.select(sa.bindparam("k_caller", type_=sa.String), sa.bindparam("k_key", type_=sa.String),
                  sa.bindparam("k_request_hash", type_=sa.String), sa.literal("done", sa.String), now, now,
                  sa.bindparam("k_status", type_=sa.Integer), now).select_from(source)).cte("claim")


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON: the body itself is refused later, by json_body
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str | None, *, required: bool) -> str | None:
    """The request's Idempotency-Key: None if absent (400 where required); a header sent empty,
    too long or unprintable is 400 even where a key is optional."""
    if key is None:
        if required:
            raise Problem(400, "Idempotency-Key required", "This request moves money: send an Idempotency-Key "
                          "header (for example a UUID) so that a retry cannot apply it twice.",
                          code="idempotency-key-required", errors={"Idempotency-Key": ["Missing header."]})
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
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
