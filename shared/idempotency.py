"""The one Idempotency-Key design of every money-moving POST, all of it in this file.

A key is one record per (caller, key): the request's fingerprint (caller, method, path, body),
its state, the owner token of the attempt that holds or made it, what the request made
(`resource_id`) and its answer. A record is never deleted: the same key with another request
is 422 for as long as it exists, whatever became of the first.

    in_flight  an attempt holds the key (its `owner`) until `lease_until`: the same request
               again is 409; after the lease (its process died) it may be taken over
    open       an attempt failed without an answer worth keeping (5xx, a crash it saw):
               only the same request may take the key again, and resumes `resource_id`
    done       the answer is stored (`response_body`, or None: render `resource_id` again)
               and replayed with `Idempotent-Replayed: true`

Two ways to run an attempt, one set of rules:

- `run_leased`, where an attempt calls out of the process in the middle (a card charge): the key
  is claimed first, in a transaction of its own, with a lease that outlasts the attempt's
  bounded outside call; the attempt ties what it makes to the key (`attach`, only while it still
  owns it, so a late attempt that lost its claim cannot make a second purchase); the answer is
  stored only by the owner. A retry of the same request after a failure resumes what the first
  made instead of making another.
- `run_in_transaction`, where the whole effect lies in the service's database (gifts,
  withdrawals, chargebacks, creators): the effect is made, then the key is claimed with its
  answer in one statement at the end of the same transaction (`settle_in`): a crash leaves
  nothing behind, and the key costs no extra round trip. A duplicate of a committed request
  finds the key taken, rolls its own attempt back and replays the first answer. On PostgreSQL
  the claim takes a non-waiting advisory lock on the key, so a duplicate that reaches it while
  the first is uncommitted gets 409 at once instead of blocking. Where the effect is a single
  statement (a gift on PostgreSQL), that statement claims the key itself (`claim_cte`) and
  commits on its own: the whole request is one round trip, and the key's row keeps the status
  and the gift's id but no body, the gift being rendered again for a retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.clock import utcnow
from shared.db import lock_for_update
from shared.db_errors import retry_transient
from shared.driver_sql import DriverStatement
from shared.errors import Problem
from shared.uow import commit
from shared.upserts import insert_ignore

log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 255
IN_FLIGHT, OPEN, DONE = "in_flight", "open", "done"


@dataclass(frozen=True)
class KeyedRequest:
    """A request sent with an Idempotency-Key: who sent it, the key, and its fingerprint."""

    caller: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, *, caller: str, key: str, method: str, path: str, body: bytes) -> KeyedRequest:
        """The request with its fingerprint: caller, method, path and the body as canonical JSON."""
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):  # not JSON: the body itself is refused later
            canonical = body
        head = json.dumps([caller, method, path]).encode()
        return cls(caller, key, hashlib.sha256(head + b"\n" + canonical).hexdigest())


@dataclass(frozen=True)
class Claim:
    """One attempt's hold on a key: `owner` is its token; `resumes` is what an earlier attempt
    of the same request made; `in_statement`: the effect's one statement claims the key."""

    request: KeyedRequest
    owner: str = field(default_factory=lambda: str(uuid.uuid4()))
    resumes: str | None = None
    in_statement: bool = False

    def params(self, now, resource_id: str, status: int = 201) -> dict:
        """The bind values of `claim_cte`."""
        r = self.request
        return {
            "k_caller": r.caller,
            "k_key": r.key,
            "k_request_hash": r.fingerprint,
            "k_owner": self.owner,
            "k_resource_id": resource_id,
            "k_status": status,
            "k_now": now,
        }


@dataclass(frozen=True)
class Answer:
    """A request's answer. `body` None: the resource `resource_id` is rendered again.
    `live` is the framework's response for this attempt, never stored."""

    status: int
    body: str | None
    resource_id: str | None = None
    replayed: bool = False
    live: object = field(default=None, compare=False)


class ClaimLost(Exception):
    """The attempt no longer owns its key: its lease ran out and a retry took it over."""


def check_key(key: str | None, *, required: bool) -> str | None:
    """The request's Idempotency-Key: None if absent (400 where required); a header sent empty,
    too long or unprintable is 400 even where a key is optional."""
    if key is None:
        if required:
            raise Problem(
                400,
                "Idempotency-Key required",
                "This request moves money: send an Idempotency-Key "
                "header (for example a UUID) so that a retry cannot apply it twice.",
                code="idempotency-key-required",
                errors={"Idempotency-Key": ["Missing header."]},
            )
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            "Invalid Idempotency-Key",
            f"The key must be 1-{MAX_KEY_LENGTH} printable characters.",
            code="idempotency-key-invalid",
            errors={"Idempotency-Key": ["Invalid header."]},
        )
    return key


def reused() -> Problem:
    return Problem(
        422,
        "Idempotency-Key reused",
        "This Idempotency-Key was used with a different request; use a new key for a new request.",
        code="idempotency-key-reused",
        errors={"Idempotency-Key": ["Already used with a different request."]},
    )


def in_flight() -> Problem:
    return Problem(
        409,
        "Request in flight",
        "A request with this Idempotency-Key is still being processed; retry later.",
        code="idempotency-key-in-flight",
        headers={"Retry-After": "1"},
    )


def claim_cte(table: sa.Table, source) -> sa.CTE:
    """INSERT the key's row, done, once per row of `source` (the effect's CTE: no row, no claim).
    A key already taken makes the whole statement fail on the primary key: nothing of it stays."""
    now = sa.bindparam("k_now", type_=table.c.created_at.type)
    return (
        table.insert()
        .from_select(
            [
                "caller",
                "key",
                "request_hash",
                "state",
                "owner",
                "resource_id",
                "lease_until",
                "created_at",
                "response_status",
                "completed_at",
            ],
            sa.select(
                sa.bindparam("k_caller", type_=sa.String),
                sa.bindparam("k_key", type_=sa.String),
                sa.bindparam("k_request_hash", type_=sa.String),
                sa.literal(DONE, sa.String),
                sa.bindparam("k_owner", type_=sa.String),
                sa.bindparam("k_resource_id", type_=sa.String),
                now,
                now,
                sa.bindparam("k_status", type_=sa.Integer),
                now,
            ).select_from(source),
        )
        .cte("claim")
    )


# Claim a key with its answer only if no other transaction is claiming it right now: no waiting on its row.
_PG_SETTLE = DriverStatement(
    sa.text(
        "INSERT INTO idempotency_keys (caller, key, request_hash, state, owner, resource_id, lease_until, created_at, "
        "response_status, response_body, completed_at) "
        "SELECT :caller, :key, :request_hash, 'done', :owner, :resource_id, :now, :now, :response_status, "
        ":response_body, :now WHERE pg_try_advisory_xact_lock(:lock) "
        "ON CONFLICT (caller, key) DO NOTHING RETURNING key"
    )
)


def _lock_id(request: KeyedRequest) -> int:
    digest = hashlib.blake2b(json.dumps([request.caller, request.key]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class KeyStore:
    """The records of one service's `idempotency_keys` table; every method runs on the caller's connection."""

    def __init__(self, table: sa.Table, lease_seconds: int = 0):
        self.table = table
        self.lease = timedelta(seconds=lease_seconds)

    def _row(self, conn: Connection, request: KeyedRequest, *, lock: bool = False):
        t = self.table
        query = sa.select(t).where(t.c.caller == request.caller, t.c.key == request.key)
        return conn.execute(lock_for_update(query, conn) if lock else query).first()

    def _mine(self, claim: Claim):
        t = self.table
        return t.update().where(
            t.c.caller == claim.request.caller,
            t.c.key == claim.request.key,
            t.c.owner == claim.owner,
            t.c.state == IN_FLIGHT,
        )

    def claim(self, conn: Connection, request: KeyedRequest) -> Claim | Answer:
        """Hold the key for a new attempt (lease mode), or the stored answer to replay."""
        now, owner = utcnow(), str(uuid.uuid4())
        if insert_ignore(
            conn,
            self.table,
            {
                "caller": request.caller,
                "key": request.key,
                "owner": owner,
                "request_hash": request.fingerprint,
                "state": IN_FLIGHT,
                "lease_until": now + self.lease,
                "created_at": now,
            },
            ["caller", "key"],
        ):
            return Claim(request, owner)
        row = self._row(conn, request, lock=True)
        stored = _judge(row, request)
        if stored is not None:
            return stored
        conn.execute(
            self.table.update()
            .where(self.table.c.caller == request.caller, self.table.c.key == request.key)
            .values(state=IN_FLIGHT, owner=owner, lease_until=now + self.lease)
        )
        return Claim(request, owner, resumes=row.resource_id)

    def attach(self, conn: Connection, claim: Claim, resource_id: str) -> None:
        """Record what the attempt made, in the transaction that makes it; ClaimLost if it lost the key."""
        if conn.execute(self._mine(claim).values(resource_id=resource_id)).rowcount != 1:
            raise ClaimLost(claim.request.key)

    def finish(self, conn: Connection, claim: Claim, answer: Answer) -> bool:
        """Store the attempt's answer; False if it had lost the key (the new owner answers)."""
        return (
            conn.execute(
                self._mine(claim).values(
                    state=DONE, response_status=answer.status, response_body=answer.body, completed_at=utcnow()
                )
            ).rowcount
            == 1
        )

    def abandon(self, conn: Connection, claim: Claim) -> None:
        """The attempt failed without an answer worth keeping: the same request may come again."""
        conn.execute(self._mine(claim).values(state=OPEN, owner=None, lease_until=utcnow()))

    def note_failure(self, conn: Connection, request: KeyedRequest) -> None:
        """A one-transaction attempt failed and left nothing: keep the key for this request only."""
        now = utcnow()
        insert_ignore(
            conn,
            self.table,
            {
                "caller": request.caller,
                "key": request.key,
                "state": OPEN,
                "request_hash": request.fingerprint,
                "lease_until": now,
                "created_at": now,
            },
            ["caller", "key"],
        )

    def stored_in(self, conn: Connection, request: KeyedRequest) -> Answer | None:
        """The answer stored for the key; None if there is none, or the key is free for this request.
        Raises 409 while another attempt holds it, 422 if it was used for another request."""
        row = self._row(conn, request)
        return _judge(row, request) if row is not None else None

    def settle_in(self, conn: Connection, claim: Claim, answer: Answer) -> Answer | None:
        """Claim the key with this answer inside the attempt's transaction, once its work is done.
        None: the key is this attempt's, commit. An answer: the key was already used for this
        request, roll back and replay it. Raises 409 while another attempt holds the key (on
        PostgreSQL also while it is uncommitted), 422 if it was used for another request."""
        r, now = claim.request, utcnow()
        values = {
            "caller": r.caller,
            "key": r.key,
            "request_hash": r.fingerprint,
            "owner": claim.owner,
            "resource_id": answer.resource_id,
            "response_status": answer.status,
            "response_body": answer.body,
        }
        if conn.dialect.name == "postgresql":
            claimed = _PG_SETTLE(conn, {**values, "now": now, "lock": _lock_id(r)}).first() is not None
            if not claimed and (row := self._row(conn, r)) is None:
                raise in_flight()  # held under the advisory lock by an uncommitted claim
        else:  # SQLite: BEGIN IMMEDIATE already makes this transaction the only writer
            claimed = insert_ignore(
                conn,
                self.table,
                {**values, "state": DONE, "lease_until": now, "created_at": now, "completed_at": now},
                ["caller", "key"],
            )
            row = None if claimed else self._row(conn, r)
        if claimed:
            return None
        stored = _judge(row, r)
        if stored is not None:
            return stored
        # Free for this request (an earlier attempt failed, or its lease lapsed): take it with this
        # answer, unless a duplicate of this request took it first (then replay its answer).
        t = self.table
        taken = (
            conn.execute(
                t.update()
                .where(t.c.caller == r.caller, t.c.key == r.key, t.c.state != DONE)
                .values(
                    state=DONE,
                    owner=claim.owner,
                    resource_id=answer.resource_id,
                    response_status=answer.status,
                    response_body=answer.body,
                    completed_at=now,
                )
            ).rowcount
            == 1
        )
        if taken:
            return None
        stored = _judge(self._row(conn, r), r)
        if stored is None:
            raise in_flight()
        return stored


def _judge(row, request: KeyedRequest) -> Answer | None:
    """The rules for a key already recorded: another request 422, held 409, done replayed, else free."""
    if row.request_hash != request.fingerprint:
        raise reused()
    if row.state == DONE:
        return Answer(row.response_status, row.response_body, row.resource_id, replayed=True)
    if row.state == IN_FLIGHT and row.lease_until > utcnow():
        raise in_flight()
    return None


Attempt = Callable[[Claim], Answer]


def run_leased(engine: Engine, store: KeyStore, request: KeyedRequest, attempt: Attempt) -> Answer:
    """An attempt with an outside call in the middle: claim with a lease, attempt, store the answer."""

    def _claim():
        with engine.begin() as conn:
            return store.claim(conn, request)

    held = retry_transient(_claim)
    if isinstance(held, Answer):
        return held
    try:
        answer = attempt(held)
    except ClaimLost:
        raise in_flight() from None
    except BaseException:
        _quietly(engine, lambda conn: store.abandon(conn, held))
        raise
    if answer.status >= 500:
        _quietly(engine, lambda conn: store.abandon(conn, held))
    elif not _quietly(engine, lambda conn: store.finish(conn, held, answer)):
        log.warning("idempotency claim lost before its answer was stored", extra={"key": request.key})
    return answer


def _quietly(engine: Engine, write: Callable[[Connection], object]):
    """A bookkeeping write after the attempt: retried on transient errors, never raised (the
    lease then lapses, and a retry of the same request resumes what the attempt made)."""

    def _write():
        with engine.begin() as conn:
            return write(conn)

    try:
        return retry_transient(_write)
    except Exception:  # noqa: BLE001 - logged; the key stays in flight until its lease lapses
        log.exception("idempotency bookkeeping failed")
        return None


InTransaction = Callable[[Connection, Claim | None], Answer]


def run_in_transaction(
    engine: Engine,
    store: KeyStore,
    request: KeyedRequest | None,
    attempt: InTransaction,
    *,
    render_again: Callable[[Connection, str], str] | None = None,
) -> Answer:
    """An attempt whose whole effect lies in this database: one transaction, the key claimed at
    its end (or by the effect's one statement, where `render_again` can answer a retry)."""

    def run(in_statement: bool) -> Answer:
        return retry_transient(
            lambda: _one_transaction(engine, store, request, attempt, render_again, in_statement=in_statement)
        )

    if request is not None and render_again is not None and engine.dialect.name == "postgresql":
        try:
            return run(True)
        except _KeyFree:
            pass  # the key is free for this request (a failed attempt's): claim it at the end instead
    return run(False)


class _KeyFree(Exception):
    """The effect's statement found the key recorded, but free for this request."""


def _one_transaction(
    engine: Engine,
    store: KeyStore,
    request: KeyedRequest | None,
    attempt: InTransaction,
    render_again,
    *,
    in_statement: bool,
) -> Answer:
    claim = Claim(request, in_statement=in_statement) if request is not None else None
    with engine.connect() as conn:
        tx = conn.begin()

        def replay(stored: Answer) -> Answer:
            if stored.body is None:
                stored = Answer(stored.status, render_again(conn, stored.resource_id), stored.resource_id, True)
            conn.rollback()
            return stored

        try:
            answer = attempt(conn, claim)
        except IntegrityError:
            # The effect's statement found the key taken: answer as the first did.
            tx.rollback()
            stored = store.stored_in(conn, request) if claim is not None and in_statement else None
            if stored is not None:
                return replay(stored)
            conn.rollback()
            if claim is not None and in_statement:
                raise _KeyFree() from None
            raise
        except BaseException:
            tx.rollback()
            if request is not None:
                _quietly(engine, lambda c: store.note_failure(c, request))
            raise
        return _conclude(engine, store, conn, tx, claim, answer, replay)


def _conclude(
    engine: Engine,
    store: KeyStore,
    conn: Connection,
    tx,
    claim: Claim | None,
    answer: Answer,
    replay: Callable[[Answer], Answer],
) -> Answer:
    """End the attempt's transaction: a failure leaves nothing (its key kept for this request
    only), a refusal leaves only its answer, a success commits with the key claimed."""
    if answer.status >= 500:
        tx.rollback()
        if claim is not None:
            _quietly(engine, lambda c: store.note_failure(c, claim.request))
        return answer
    refused = answer.status >= 400
    if refused:
        tx.rollback()  # nothing of a refused request stays; its answer is kept for a retry
        if claim is None:
            return answer
        tx = conn.begin()
    if claim is not None and (refused or not claim.in_statement):
        stored = store.settle_in(conn, claim, answer)
        if stored is not None:  # a duplicate of a finished request: undo this attempt, answer as the first
            tx.rollback()
            return replay(stored)
    commit(tx)  # where the effect's statement committed on its own, nothing is left to send
    return answer
