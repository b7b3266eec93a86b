"""The views' side of Idempotency-Key handling: the `idempotent` decorator that runs a POST view
as an attempt under shared.idempotency's rules and answers a retry with the stored response."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Response, current_app, g, request
from marshmallow import ValidationError
from sqlalchemy.engine import Connection

from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, Problem
from shared.http.infra import infra
from shared.http.problems import render_error
from shared.http.request_input import request_body
from shared.idempotency import Answer, Claim, KeyedRequest, check_key
from shared.idempotency_attempts import run_in_transaction, run_leased
from shared.idempotency_store import KeyStore


@dataclass(frozen=True)
class KeyedCall:
    """What an idempotent view is called with (`call=`): its attempt's claim on the request's
    Idempotency-Key (None without a key) and, where the view's whole effect lies in one
    transaction, that transaction's connection for its unit of work."""

    claim: Claim | None
    conn: Connection | None = None


def idempotent(
    *,
    required: bool = True,
    transactional: bool = False,
    render_again: Callable[[Connection, str], object] | None = None,
):
    """Idempotency-Key handling for a POST, under shared.idempotency's rules. transactional: the
    view's whole effect lies in this service's database (`run_in_transaction`); otherwise an
    outside call runs in the middle (`run_leased`; both in shared.idempotency_attempts).
    render_again(conn, resource_id) -> body: the view's effect is one statement that may claim
    the key itself (`Claim.in_statement`), and a retry is answered with the resource it made."""

    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            keyed = _keyed_request(required)

            def attempt(call: KeyedCall) -> Answer:
                return _answer_of(lambda: view(*args, call=call, **kwargs))

            if transactional:
                answer = _run_in_transaction(keyed, attempt, render_again)
            elif keyed is None:
                answer = attempt(KeyedCall(None))
            else:
                answer = run_leased(infra().engine, _key_store(), keyed, lambda claim: attempt(KeyedCall(claim)))
            return _response_of(answer)

        wrapper.idempotent = True
        wrapper.idempotency_key_required = required
        return wrapper

    return deco


def _keyed_request(required: bool) -> KeyedRequest | None:
    """The request's Idempotency-Key with its fingerprint; None if it was sent without one."""
    key = check_key(request.headers.get("Idempotency-Key"), required=required)
    if key is None:
        return None
    return KeyedRequest.of(caller=g.caller.name, key=key, method=request.method, path=request.path, body=request_body())


def _key_store() -> KeyStore:
    return KeyStore(infra().tables["idempotency_keys"], infra().settings.idempotency_lease_seconds)


def _run_in_transaction(
    keyed: KeyedRequest | None,
    attempt: Callable[[KeyedCall], Answer],
    render_again: Callable[[Connection, str], object] | None,
) -> Answer:
    """The view's attempt in one transaction; `render_again`'s response rendered to its body."""
    rendered = None
    if render_again is not None:

        def rendered(conn: Connection, resource_id: str) -> str:
            return current_app.make_response(render_again(conn, resource_id)).get_data(as_text=True)

    return run_in_transaction(
        infra().engine, _key_store(), keyed, lambda conn, claim: attempt(KeyedCall(claim, conn)), render_again=rendered
    )


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
