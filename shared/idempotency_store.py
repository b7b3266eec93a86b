"""A service's Idempotency-Key records (its `idempotency_keys` table), under the rules of
shared.idempotency: `KeyStore` claims, attaches, finishes, abandons and settles keys on the
caller's connection, and `judge` says what a key already recorded means for a request."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shared import idempotency_pg
from shared.clock import utcnow
from shared.db.engines import lock_for_update
from shared.db.upserts import insert_ignore
from shared.idempotency import DONE, IN_FLIGHT, OPEN, Answer, Claim, ClaimLost, KeyedRequest, in_flight, reused


class KeyStore:
    """The records of one service's `idempotency_keys` table; every method runs on the caller's connection."""

    def __init__(self, table: sa.Table, lease_seconds: int = 0):
        self.table = table
        self.lease = timedelta(seconds=lease_seconds)

    # -- lease mode (shared.idempotency_attempts.run_leased) ---------------------------------------
    def claim(self, conn: Connection, request: KeyedRequest) -> Claim | Answer:
        """Hold the key for a new attempt (lease mode), or the stored answer to replay."""
        now, owner = utcnow(), str(uuid.uuid4())
        held = {"owner": owner, "state": IN_FLIGHT, "lease_until": now + self.lease}
        if insert_ignore(conn, self.table, {**self._key(request), **held, "created_at": now}, ["caller", "key"]):
            return Claim(request, owner)
        row = self._row(conn, request, lock=True)
        stored = judge(row, request)
        if stored is not None:
            return stored
        conn.execute(self._where(request).values(**held))
        return Claim(request, owner, resumes=row.resource_id)

    def attach(self, conn: Connection, claim: Claim, resource_id: str) -> None:
        """Record what the attempt made, in the transaction that makes it; ClaimLost if it lost the key."""
        if conn.execute(self._mine(claim).values(resource_id=resource_id)).rowcount != 1:
            raise ClaimLost(claim.request.key)

    def finish(self, conn: Connection, claim: Claim, answer: Answer) -> bool:
        """Store the attempt's answer; False if it had lost the key (the new owner answers)."""
        done = {"state": DONE, "response_status": answer.status, "response_body": answer.body}
        return conn.execute(self._mine(claim).values(**done, completed_at=utcnow())).rowcount == 1

    def abandon(self, conn: Connection, claim: Claim) -> None:
        """The attempt failed without an answer worth keeping: the same request may come again."""
        conn.execute(self._mine(claim).values(state=OPEN, owner=None, lease_until=utcnow()))

    # -- one-transaction mode (shared.idempotency_attempts.run_in_transaction) ---------------------
    def note_failure(self, conn: Connection, request: KeyedRequest) -> None:
        """A one-transaction attempt failed and left nothing: keep the key for this request only."""
        now = utcnow()
        row = {**self._key(request), "state": OPEN, "lease_until": now, "created_at": now}
        insert_ignore(conn, self.table, row, ["caller", "key"])

    def stored_in(self, conn: Connection, request: KeyedRequest) -> Answer | None:
        """The answer stored for the key; None if there is none, or the key is free for this request.
        Raises 409 while another attempt holds it, 422 if it was used for another request."""
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
        values = {**self._key(request), **answered}
        if conn.dialect.name == "postgresql":
            if idempotency_pg.settle(conn, request, values, now):
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
        taken = self._where(request).where(self.table.c.state != DONE).values(state=DONE, completed_at=now, **answered)
        if conn.execute(taken).rowcount == 1:
            return None
        stored = judge(self._row(conn, request), request)
        if stored is None:
            raise in_flight()
        return stored

    # -- the key's row ------------------------------------------------------------------------------
    @staticmethod
    def _key(request: KeyedRequest) -> dict:
        return {"caller": request.caller, "key": request.key, "request_hash": request.fingerprint}

    def _row(self, conn: Connection, request: KeyedRequest, *, lock: bool = False):
        t = self.table
        query = sa.select(t).where(t.c.caller == request.caller, t.c.key == request.key)
        return conn.execute(lock_for_update(query, conn) if lock else query).first()

    def _where(self, request: KeyedRequest):
        """An UPDATE of the key's row."""
        t = self.table
        return t.update().where(t.c.caller == request.caller, t.c.key == request.key)

    def _mine(self, claim: Claim):
        """An UPDATE of the key's row while this attempt still holds it."""
        t = self.table
        return self._where(claim.request).where(t.c.owner == claim.owner, t.c.state == IN_FLIGHT)


def judge(row, request: KeyedRequest) -> Answer | None:
    """The rules for a key already recorded: another request 422, held 409, done replayed, else free."""
    if row.request_hash != request.fingerprint:
        raise reused()
    if row.state == DONE:
        return Answer(row.response_status, row.response_body, row.resource_id, replayed=True)
    if row.state == IN_FLIGHT and row.lease_until > utcnow():
        raise in_flight()
    return None
