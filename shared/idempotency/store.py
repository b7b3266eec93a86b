"""A service's Idempotency-Key rows (its `idempotency_keys` table), under the rule of
shared.idempotency: every method runs on the caller's connection, inside a transaction its
caller owns (shared.idempotency.http)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shared.clock import utcnow
from shared.db.engines import lock_for_update
from shared.db.upserts import insert_ignore, insert_ignore_many, upsert_many
from shared.idempotency import DONE, IN_FLIGHT, OPEN, Answer, Claim, ClaimLost, KeyedRequest, in_flight, judge


class KeyStore:
    """The rows of one service's `idempotency_keys` table."""

    def __init__(self, table: sa.Table, lease_seconds: int = 0):
        self.table = table
        self.lease = timedelta(seconds=lease_seconds)

    # -- leased attempts --------------------------------------------------------------------------
    def claim(self, conn: Connection, request: KeyedRequest, owner: str | None = None) -> Claim | Answer:
        """Hold the key for a new attempt, or the stored answer to replay."""
        now, owner = utcnow(), owner or str(uuid.uuid4())
        held = {"owner": owner, "state": IN_FLIGHT, "lease_until": now + self.lease}
        if insert_ignore(conn, self.table, {**_key(request), **held, "created_at": now}, ["caller", "key"]):
            return Claim(request, owner)
        row = self._row(conn, request, lock=True)
        if row.state == IN_FLIGHT and row.owner == owner and row.request_hash == request.fingerprint:
            return Claim(request, owner, resumes=row.resource_id)  # this attempt's own claim, its ack lost
        stored = judge(row, request)
        if stored is not None:
            return stored
        conn.execute(self._where(request.caller, request.key).values(**held))
        return Claim(request, owner, resumes=row.resource_id)

    def attach(self, conn: Connection, *, caller: str, key: str, owner: str, resource_id: str) -> None:
        """Record what the attempt made, in the transaction that makes it; ClaimLost if it lost the key."""
        if conn.execute(self._mine(caller, key, owner).values(resource_id=resource_id)).rowcount != 1:
            raise ClaimLost(key)

    def finish(self, conn: Connection, claim: Claim, answer: Answer) -> bool:
        """Store the attempt's answer; False if it had lost the key (the new owner answers)."""
        done = {"state": DONE, "response_status": answer.status, "response_body": answer.body}
        return conn.execute(self._mine_of(claim).values(**done, completed_at=utcnow())).rowcount == 1

    def abandon(self, conn: Connection, claim: Claim) -> None:
        """The attempt failed without an answer worth keeping: the same request may come again."""
        conn.execute(self._mine_of(claim).values(state=OPEN, owner=None, lease_until=utcnow()))

    # -- transactional attempts -------------------------------------------------------------------
    def note_failure(self, conn: Connection, request: KeyedRequest) -> None:
        """An attempt failed and left nothing: keep the key for this request only."""
        now = utcnow()
        row = {**_key(request), "state": OPEN, "lease_until": now, "created_at": now}
        insert_ignore(conn, self.table, row, ["caller", "key"])

    def stored_in(self, conn: Connection, request: KeyedRequest) -> Answer | None:
        """The answer stored for the key (`judge`); None if there is none or the key is free."""
        row = self._row(conn, request)
        return judge(row, request) if row is not None else None

    def settle_in(self, conn: Connection, claim: Claim, answer: Answer) -> Answer | None:
        """Claim the key with this answer inside the attempt's transaction, once its work is done.
        None: the key is this attempt's, commit. An answer: the key was already used for this
        request, roll back and replay it. Raises 409 while another attempt holds the key (on
        PostgreSQL also while it is uncommitted), 422 if it was used for another request."""
        now = utcnow()
        answered = {
            "owner": claim.owner,
            "resource_id": answer.resource_id,
            "response_status": answer.status,
            "response_body": answer.body,
        }
        row = self._insert_done(conn, claim.request, answered, now)
        if row is None:
            return None
        stored = judge(row, claim.request)
        if stored is not None:
            return stored
        return self._take_free(conn, claim.request, answered, now)

    def _insert_done(self, conn: Connection, request: KeyedRequest, answered: dict, now):
        """Insert the key's row, done, with its answer: None if inserted, else the row recorded."""
        values = {**_key(request), **answered}
        if conn.dialect.name == "postgresql":
            if conn.execute(_SETTLE_PG, {**values, "now": now, "lock": _lock_id(request)}).first() is not None:
                return None
            row = self._row(conn, request)
            if row is None:
                raise in_flight()  # held under the advisory lock by an uncommitted claim
            return row
        # SQLite: BEGIN IMMEDIATE already makes this transaction the only writer
        times = {"lease_until": now, "created_at": now, "completed_at": now}
        if insert_ignore(conn, self.table, {**values, "state": DONE, **times}, ["caller", "key"]):
            return None
        return self._row(conn, request)

    def _take_free(self, conn: Connection, request: KeyedRequest, answered: dict, now) -> Answer | None:
        """The key is free for this request (an earlier attempt failed, or its lease lapsed): take it
        with this answer (None), unless a duplicate of this request took it first (its answer)."""
        taken = (
            self._where(request.caller, request.key)
            .where(self.table.c.state != DONE)
            .values(state=DONE, completed_at=now, **answered)
        )
        if conn.execute(taken).rowcount == 1:
            return None
        stored = judge(self._row(conn, request), request)
        if stored is None:
            raise in_flight()
        return stored

    # -- a batch's items, each with its own key (shared.idempotency.http `answer_items`) -----------
    def claim_many(self, conn: Connection, requests: list[KeyedRequest], owner: str) -> dict[str, object]:
        """Claim the keys not recorded yet for `owner` (one INSERT, keys sorted: a lock order), held
        by this transaction until `settle_many`; return the rows of those recorded already, locked,
        by key (one SELECT ... FOR UPDATE). All of one caller."""
        unique = {r.key: r for r in requests}
        if not unique:
            return {}
        now = utcnow()
        rows = [_row_of(unique[key], IN_FLIGHT, owner, now) for key in sorted(unique)]
        recorded = sorted(set(unique) - insert_ignore_many(conn, self.table, rows, ["caller", "key"], returning="key"))
        if not recorded:
            return {}
        t = self.table
        query = sa.select(t).where(t.c.caller == requests[0].caller, t.c.key.in_(recorded)).order_by(t.c.key)
        return {row.key: row for row in conn.execute(lock_for_update(query, conn))}

    def settled_row(self, request: KeyedRequest, answer: Answer, owner: str, now) -> SimpleNamespace:
        """A key's row once its item is answered at `now` (the batch's one time: a distinct value
        per row would be converted once a row in the batch's arrays): done with an answer it
        keeps, else open for this request only. `judge` reads it as it reads a stored row."""
        row = _row_of(request, OPEN, None, now)
        if answer.kept:
            row.update(state=DONE, owner=owner, resource_id=answer.resource_id, completed_at=now)
            row.update(response_status=answer.status, response_body=answer.body)
        return SimpleNamespace(**row)

    def settle_many(self, conn: Connection, rows: list[SimpleNamespace]) -> None:
        """Write the batch's settled rows over its claims (one statement, keys sorted)."""
        values = [vars(row) for row in sorted(rows, key=lambda row: row.key)]
        updated = ("request_hash", "state", "owner", "resource_id", "lease_until")
        upsert_many(conn, self.table, ["caller", "key"], updated + _ANSWER, values)

    # -- the key's row ----------------------------------------------------------------------------
    def _row(self, conn: Connection, request: KeyedRequest, *, lock: bool = False):
        t = self.table
        query = sa.select(t).where(t.c.caller == request.caller, t.c.key == request.key)
        return conn.execute(lock_for_update(query, conn) if lock else query).first()

    def _where(self, caller: str, key: str):
        """An UPDATE of the key's row."""
        t = self.table
        return t.update().where(t.c.caller == caller, t.c.key == key)

    def _mine(self, caller: str, key: str, owner: str):
        """An UPDATE of the key's row while this attempt still holds it."""
        t = self.table
        return self._where(caller, key).where(t.c.owner == owner, t.c.state == IN_FLIGHT)

    def _mine_of(self, claim: Claim):
        return self._mine(claim.request.caller, claim.request.key, claim.owner)


def _key(request: KeyedRequest) -> dict:
    return {"caller": request.caller, "key": request.key, "request_hash": request.fingerprint}


_ANSWER = ("response_status", "response_body", "completed_at")


def _row_of(request: KeyedRequest, state: str, owner: str | None, now) -> dict:
    """A key's whole row in `state`, holding no answer yet."""
    return {
        **_key(request),
        "state": state,
        "owner": owner,
        "resource_id": None,
        "lease_until": now,
        "created_at": now,
        **dict.fromkeys(_ANSWER),
    }


# PostgreSQL: claim a key with its answer only if no other transaction is claiming it right now
# (a non-waiting advisory lock on the key: a duplicate gets 409 at once, never waits on the row).
_SETTLE_PG = sa.text(
    "INSERT INTO idempotency_keys (caller, key, request_hash, state, owner, resource_id, lease_until, created_at, "
    "response_status, response_body, completed_at) "
    "SELECT :caller, :key, :request_hash, 'done', :owner, :resource_id, :now, :now, :response_status, "
    ":response_body, :now WHERE pg_try_advisory_xact_lock(:lock) "
    "ON CONFLICT (caller, key) DO NOTHING RETURNING key"
)


def _lock_id(request: KeyedRequest) -> int:
    """The key's advisory lock: a signed 64-bit hash of (caller, key)."""
    digest = hashlib.blake2b(json.dumps([request.caller, request.key]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
