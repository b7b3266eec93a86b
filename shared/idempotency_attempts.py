"""The two ways to run an attempt under an Idempotency-Key (the design: shared.idempotency).

`run_leased`: the key is claimed first with a lease, for an attempt that calls out of the process
in the middle. `run_in_transaction`: the attempt's whole effect and its key in one transaction of
this service's database, the key claimed at its end or by the effect's own statement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.db.errors import retry_transient
from shared.idempotency import Answer, Claim, ClaimLost, KeyedRequest, in_flight
from shared.idempotency_store import KeyStore
from shared.messaging.uow import commit

log = logging.getLogger(__name__)


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
    if not answer.kept:  # a failure, or a refusal by a state that moves on: the same request may come again
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
    """End the attempt's transaction: an answer the key does not keep (a failure, a refusal by a
    state that moves on) leaves nothing (its key kept for this request only), a refusal leaves
    only its answer, a success commits with the key claimed."""
    if not answer.kept:
        tx.rollback()
        if claim is None:
            return answer
        stored = store.stored_in(conn, claim.request)
        if stored is not None:  # a duplicate of a finished request (whose effect is why this one failed)
            return replay(stored)
        conn.rollback()
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
