"""The HTTP wrapper: `idempotent(...)`, given to a route's declaration (shared.http.app `route`), runs a
keyed POST view as an attempt under shared.idempotency's rule, owning its transaction(s), and
answers a retry with the stored response. The view is called with a `KeyedCall` of plain values
for its handler and unit of work. A batch whose items carry their own keys (gifting's gift
batches) is answered item by item by `answer_items`, inside the view's one transaction."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps

from flask import Response, current_app, g, request
from marshmallow import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.clock import utcnow
from shared.db.engines import retry_transient
from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, Problem
from shared.http.app import request_body, wiring
from shared.http.problems import render_error
from shared.idempotency import Answer, Claim, ClaimLost, KeyedRequest, check_key, in_flight, judge
from shared.idempotency.store import KeyStore
from shared.messaging.uow import commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyedCall:
    """What a keyed view is called with (`call=`); every field None where it does not apply.
    conn: the transaction the wrapper owns (transactional), for the view's unit of work to join.
    key, token, resumes (leased): the (caller, key) this attempt holds, its token, and what an
    earlier attempt of the same request made. key_row: the key's row as plain values, for an
    effect that claims the key in its own statement (then it must, exactly when it succeeds)."""

    conn: Connection | None = None
    key: tuple[str, str] | None = None
    token: str | None = None
    resumes: str | None = None
    key_row: dict | None = None


@dataclass(frozen=True)
class Idempotent:
    """How a keyed POST runs (see `idempotent`); shared.http.app `route(keyed=...)` wraps its view."""

    required: bool = True
    transactional: bool = False
    render_again: Callable[[Connection, str], object] | None = None

    def wrap(self, view):
        """The view run as an attempt under the rule, answered from the key when it is a retry."""
        required, transactional, render_again = self.required, self.transactional, self.render_again

        @wraps(view)
        def wrapper(*args, **kwargs):
            keyed = _keyed_request(required)

            def attempt(call: KeyedCall) -> Answer:
                return _answer_of(lambda: view(*args, call=call, **kwargs))

            service = wiring()
            store = _store(service.tables["idempotency_keys"], service.settings.common.idempotency_lease_seconds)
            if transactional:
                rendered = _rendered(render_again)
                answer = _run_in_transaction(service.engine, store, keyed, attempt, render_again=rendered)
            elif keyed is None:
                answer = attempt(KeyedCall())
            else:
                answer = _run_leased(service.engine, store, keyed, attempt)
            return _response_of(answer)

        return wrapper


@cache
def _store(table, lease_seconds: int) -> KeyStore:
    """The key store of a service's table, built once (a request on PostgreSQL may never need it)."""
    return KeyStore(table, lease_seconds)


def idempotent(
    *,
    required: bool = True,
    transactional: bool = False,
    render_again: Callable[[Connection, str], object] | None = None,
) -> Idempotent:
    """Idempotency-Key handling for a POST (`route(..., keyed=idempotent(...))`). transactional: the
    view's whole effect lies in this service's database (one transaction, the key settled at its
    end); otherwise an outside call runs in the middle (leased). render_again(conn, resource_id) ->
    response: the view may claim the key in its effect's one statement (on PostgreSQL;
    `KeyedCall.key_row`), and a retry is answered with the resource it made, rendered again."""
    return Idempotent(required=required, transactional=transactional, render_again=render_again)


# -- leased: claim, attempt (with its outside call), store the answer -----------------------------
def _run_leased(
    engine: Engine, store: KeyStore, request: KeyedRequest, attempt: Callable[[KeyedCall], Answer]
) -> Answer:
    """Each step its own transaction: the claim, then the attempt's own, then the answer."""

    owner = str(uuid.uuid4())  # one token across retries: a retried claim knows its own row

    def _claim():
        with engine.begin() as conn:
            return store.claim(conn, request, owner)

    held = retry_transient(_claim)
    if isinstance(held, Answer):
        return held
    call = KeyedCall(key=(request.caller, request.key), token=held.owner, resumes=held.resumes)
    try:
        answer = attempt(call)
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


# -- transactional: the effect and its key in one transaction -------------------------------------
def _run_in_transaction(
    engine: Engine,
    store: KeyStore,
    request: KeyedRequest | None,
    attempt: Callable[[KeyedCall], Answer],
    *,
    render_again: Callable[[Connection, str], str] | None = None,
) -> Answer:
    """One transaction, owned here: the attempt, then the key settled with its answer. Where
    `render_again` can answer a retry (on PostgreSQL), the effect's statement is offered the key
    first; if the key turns out recorded but free for this request, the attempt runs again with
    the key settled at the end."""

    def run(in_statement: bool) -> Answer:
        return retry_transient(lambda: _one_transaction(engine, store, request, attempt, render_again, in_statement))

    if request is not None and render_again is not None and engine.dialect.name == "postgresql":
        try:
            return run(True)
        except _KeyFree:
            pass
    return run(False)


class _KeyFree(Exception):
    """The effect's statement found the key recorded, but free for this request."""


def _one_transaction(engine, store: KeyStore, request, attempt, render_again, in_statement: bool) -> Answer:
    claim = Claim(request) if request is not None else None
    with engine.connect() as conn:
        tx = conn.begin()

        def replay(stored: Answer) -> Answer:
            if stored.body is None:  # the effect's statement claimed the key: render what it made
                stored = Answer(stored.status, render_again(conn, stored.resource_id), stored.resource_id, True)
            conn.rollback()
            return stored

        call = KeyedCall(conn=conn, key_row=claim.row() if in_statement else None)
        try:
            answer = attempt(call)
        except IntegrityError:
            tx.rollback()
            if not in_statement:
                raise
            stored = store.stored_in(conn, request)  # the effect's statement found the key taken
            if stored is not None:
                return replay(stored)
            conn.rollback()
            raise _KeyFree() from None
        except BaseException:
            tx.rollback()
            if request is not None:
                _quietly(engine, lambda c: store.note_failure(c, request))
            raise
        return _conclude(engine, store, conn, tx, claim, answer, replay, in_statement)


def _conclude(
    engine, store: KeyStore, conn: Connection, tx, claim: Claim | None, answer: Answer, replay, in_statement: bool
) -> Answer:
    """End the attempt's transaction: an answer the key does not keep leaves nothing (the key
    kept for this request only), a refusal leaves only its answer, a success commits with the
    key (settled here, or already claimed by the effect's statement)."""
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
    if claim is not None and (refused or not in_statement):
        stored = store.settle_in(conn, claim, answer)
        if stored is not None:  # a duplicate of a finished request: undo this attempt, answer as the first
            tx.rollback()
            return replay(stored)
    commit(tx)  # where the effect's statement committed on its own, nothing is left to send
    return answer


# -- a batch: each item keyed as if it were sent alone ---------------------------------------------
def answer_items(
    conn: Connection,
    store: KeyStore,
    requests: list[KeyedRequest | None],
    attempt: Callable[[int], Answer],
    *,
    path: str,
) -> list[Answer]:
    """Each item of a batch answered in order as the route at `path` would answer it alone with its
    own Idempotency-Key, in the caller's transaction: the key judged by the one replay rule
    (another request 422, held 409, done: its stored answer), else `attempt(index)`, whose answer
    settles the key as a single request's would (`keeps`). An item whose key was unusable (None)
    is attempted without one. All items are one caller's (rows are matched by key alone). Keys
    are claimed first (one INSERT, then one SELECT ... FOR UPDATE of those recorded already) and
    settled last (one upsert), whatever the count."""
    owner, now = str(uuid.uuid4()), utcnow()
    rows = store.claim_many(conn, [r for r in requests if r is not None], owner)
    settled = {}
    answers = []
    for index, keyed in enumerate(requests):
        answer = _judged(rows.get(keyed.key), keyed, path) if keyed is not None else None
        if answer is None:
            answer = attempt(index)
            if keyed is not None:  # a later item with the same key is judged against this answer
                settled[keyed.key] = rows[keyed.key] = store.settled_row(keyed, answer, owner, now)
        answers.append(answer)
    store.settle_many(conn, list(settled.values()))
    return answers


def _judged(row, request: KeyedRequest, path: str) -> Answer | None:
    if row is None:
        return None
    try:
        return judge(row, request)
    except Problem as exc:
        return refusal(exc, path)


def refusal(exc: Problem | DomainError, path: str) -> Answer:
    """A refusal's answer as the route at `path` renders it (its problem+json body), not yet sent."""
    problem = exc if isinstance(exc, Problem) else Problem.from_domain(exc)
    return Answer(problem.status, json.dumps(problem.to_dict(path)), code=problem.code)


# -- the Flask side -------------------------------------------------------------------------------
def _keyed_request(required: bool) -> KeyedRequest | None:
    """The request's Idempotency-Key with its fingerprint; None if it was sent without one."""
    key = check_key(request.headers.get("Idempotency-Key"), required=required)
    if key is None:
        return None
    return KeyedRequest.of(caller=g.caller.name, key=key, method=request.method, path=request.path, body=request_body())


def _rendered(render_again: Callable[[Connection, str], object] | None) -> Callable[[Connection, str], str] | None:
    if render_again is None:
        return None
    return lambda conn, resource_id: current_app.make_response(render_again(conn, resource_id)).get_data(as_text=True)


def _answer_of(call_view: Callable[[], object]) -> Answer:
    """The view's answer, a refusal rendered as problem+json; anything else propagates."""
    code = None
    try:
        response = current_app.make_response(call_view())
    except (Problem, DomainError, ValidationError) as exc:
        response, code = render_error(exc), getattr(exc, "code", None)
    return Answer(response.status_code, response.get_data(as_text=True), live=response, code=code)


def _response_of(answer: Answer) -> Response:
    if not answer.replayed:
        return answer.live
    content_type = PROBLEM_CONTENT_TYPE if answer.status >= 400 else "application/json"
    response = Response(answer.body, status=answer.status, content_type=content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response
