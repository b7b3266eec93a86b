"""The HTTP edge every service shares: app factory, auth, problem+json errors, idempotency,
request metrics and trace ids, health, metrics and OpenAPI endpoints.

Services add blueprints whose views parse with marshmallow, call a handler, and dump a
response schema; everything else about a request happens here, once.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable, Iterable

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared import metrics
from shared.auth import AuthError, TokenVerifier
from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, Problem, validation_problem
from shared.fields import ID_PATTERN
from shared.db import retry_transient
from shared.guard import build_verifier, check_routes
from shared.idempotency import IdempotencyStore, KeyClaim, StoredResponse, check_key, request_fingerprint
from shared.health import broker_gauge, outbox_gauges, web_readiness
from shared.logs import configure_logging, current_trace_id, new_trace_id, reset_trace_id, set_trace_id
from shared.openapi import build_openapi
from shared.settings import CommonSettings
from shared.uow import commit

log = logging.getLogger(__name__)
TRACE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
ID_RE = re.compile(ID_PATTERN)
OPEN_PREFIXES = ("/health/", "/metrics", "/openapi.json")


@dataclass
class Infra:
    """What the edge needs from a service: its settings, database and infrastructure tables."""
    settings: CommonSettings
    engine: Engine
    tables: dict[str, sa.Table]
    collectors: list = field(default_factory=list)
    verifier: TokenVerifier | None = None  # built from settings.auth by create_app


def infra() -> Infra:
    return current_app.extensions["coins"]


# -- decorators for views -------------------------------------------------------------------------
def requires(permission: str):
    """The permission a caller's token must hold to call this view."""
    def deco(view):
        view.permission = permission
        return view
    return deco


def idempotent(*, required: bool = True, transactional: bool = False, replay: Callable | None = None):
    """Idempotency-Key handling for a POST (see shared.idempotency).

    transactional: the view's whole effect lies in this service's database. The view then runs
    inside the request's transaction, which ends by claiming the key with the response (one
    statement, one commit; a duplicate rolls its attempt back and replays the first answer); its
    unit of work joins `request_connection()`, and the whole attempt is retried on a transient
    database error. Otherwise (an external call in the middle, such as a card
    charge) the key is claimed with a lease in a transaction of its own.

    replay(conn) -> response body: given, the view's effect is one statement that may claim the
    key itself (`request_claim()`, PostgreSQL): the whole request is then one round trip, and a
    retry's answer is the resource that statement made (found by `g.idempotency_key`), rendered
    again by `replay`.
    """
    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = check_key(request.headers.get("Idempotency-Key"), required=required)
            caller = g.caller.name
            g.idempotency_key = f"{caller}:{key}" if key is not None else None
            if transactional:
                return retry_transient(lambda: _in_one_transaction(view, args, kwargs, caller, key, replay))
            if key is None:
                return view(*args, **kwargs)
            store = _store()
            stored = store.claim(caller, key, request_fingerprint(request.method, request.path, request_body()))
            if stored is not None:
                return _replay(stored.status, stored.body)
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except (Problem, DomainError, ValidationError) as exc:
                response = render_error(exc)
            except BaseException:
                store.release(caller, key)
                raise
            if response.status_code >= 500:
                store.release(caller, key)
            else:
                store.complete(caller, key, response.status_code, response.get_data(as_text=True))
            return response
        wrapper.idempotent = True
        wrapper.idempotency_key_required = required
        return wrapper
    return deco


def request_connection():
    """The connection of the request's transaction, for a transactional view's unit of work."""
    return g.request_conn


def request_claim() -> KeyClaim | None:
    """The key for the view's one statement to claim with its effect (see `idempotent(replay=)`);
    None where the request's transaction claims it at its end instead."""
    return g.get("key_claim")


def _store() -> IdempotencyStore:
    return IdempotencyStore(infra().engine, infra().tables["idempotency_keys"],
                            infra().settings.idempotency_lease_seconds)


class _LapsedClaim(Exception):
    """The view's statement found the key held by a lease-mode claim whose process died."""


def _in_one_transaction(view, args, kwargs, caller: str, key: str | None, replay: Callable | None) -> Response:
    if replay is not None:
        try:
            return _attempt(view, args, kwargs, caller, key, replay, claim_in_statement=True)
        except _LapsedClaim:
            pass  # once more, claiming the key at the end, which takes such a claim over
    return _attempt(view, args, kwargs, caller, key, replay, claim_in_statement=False)


def _attempt(view, args, kwargs, caller: str, key: str | None, replay: Callable | None, *,
             claim_in_statement: bool) -> Response:
    store = _store()
    fingerprint = request_fingerprint(request.method, request.path, request_body()) if key is not None else None
    with infra().engine.connect() as conn:
        tx = conn.begin()
        g.request_conn = conn
        claim = g.key_claim = (KeyClaim(caller, key, fingerprint) if key is not None and replay is not None
                               and claim_in_statement and conn.dialect.name == "postgresql" else None)

        def answer(stored: StoredResponse) -> Response:
            if stored.body is not None:
                return _replay(stored.status, stored.body)
            response = current_app.make_response((replay(conn), stored.status))
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except IntegrityError:
            # A duplicate of a committed request can trip the key's unique constraint on the
            # resource it creates before reaching the claim: answer as the first did.
            tx.rollback()
            stored = store.stored_in(conn, caller, key, fingerprint) if key is not None else None
            if stored is not None:
                replayed = answer(stored)
                conn.rollback()
                return replayed
            conn.rollback()
            if claim is not None:  # the key's row is a lapsed lease-mode claim: let the end take it over
                raise _LapsedClaim() from None
            raise
        except (Problem, DomainError, ValidationError) as exc:
            tx.rollback()  # nothing of a refused request stays; its answer is kept for a retry
            response = render_error(exc)
            if key is not None and response.status_code < 500:
                with conn.begin():
                    stored = store.settle_in(conn, caller, key, fingerprint, response.status_code,
                                             response.get_data(as_text=True))
                    if stored is not None:
                        return answer(stored)
            return response
        finally:
            g.pop("request_conn", None)
            g.pop("key_claim", None)
        if response.status_code >= 500:
            tx.rollback()
            return response
        if key is not None and not (claim is not None and claim.made):
            stored = store.settle_in(conn, caller, key, fingerprint, response.status_code,
                                     response.get_data(as_text=True))
            if stored is not None:  # a duplicate of a finished request: undo this attempt, answer as the first
                tx.rollback()
                return answer(stored)
        commit(tx)  # where the view's one statement committed on its own, nothing is left to send
        return response


def _replay(status: int, body: str) -> Response:
    content_type = PROBLEM_CONTENT_TYPE if status >= 400 else "application/json"
    response = Response(body, status=status, content_type=content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


# -- request parsing ------------------------------------------------------------------------------
def request_body() -> bytes:
    """The raw body, refused with 413 past MAX_BODY_BYTES, chunked or not."""
    if "raw_body" not in g:
        if request.content_length is not None:
            g.raw_body = request.get_data(cache=True)  # Werkzeug refuses a Content-Length over the limit
        else:
            # Chunked: gunicorn has de-chunked wsgi.input; Werkzeug would read it as empty or truncate it.
            limit = infra().settings.max_body_bytes
            g.raw_body = request.environ["wsgi.input"].read(limit + 1)
            if len(g.raw_body) > limit:
                raise RequestEntityTooLarge()
    return g.raw_body


def json_body(schema: Schema) -> dict:
    raw = request_body()
    if not raw.strip():
        raise Problem(400, "Body required", "Send a JSON object body.", code="malformed-body",
                      errors={"body": ["A JSON object is required."]})
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "Malformed JSON", f"The body is not valid JSON: {exc}", code="malformed-body",
                      errors={"body": ["Not valid JSON."]}) from exc
    if not isinstance(data, dict):
        raise Problem(400, "Malformed body", "The body must be a JSON object.", code="malformed-body",
                      errors={"body": ["Must be a JSON object."]})
    return schema.load(data)


def query_args(schema: Schema) -> dict:
    return schema.load(request.args.to_dict())


def keyset_page(rows: list, limit: int, cursor_of: Callable) -> tuple[list, str | None]:
    """Rows fetched with limit + 1: the page, and the cursor of the next page (None at the end)."""
    page = rows[:limit]
    return page, (cursor_of(page[-1]) if len(rows) > limit else None)


def problem_response(problem: Problem) -> Response:
    response = Response(json.dumps(problem.to_dict(instance=request.path)), status=problem.status,
                        content_type=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def render_error(exc: Exception) -> Response:
    if isinstance(exc, Problem):
        return problem_response(exc)
    if isinstance(exc, DomainError):
        return problem_response(Problem.from_domain(exc))
    if isinstance(exc, ValidationError):
        return problem_response(validation_problem(exc.messages if isinstance(exc.messages, dict)
                                                   else {"body": exc.messages}))
    raise exc


# -- the app --------------------------------------------------------------------------------------
def create_app(*, infra_: Infra, blueprints: Iterable[Blueprint], title: str, description: str) -> Flask:
    configure_logging(infra_.settings.service, infra_.settings.log_level)
    infra_.verifier = infra_.verifier or build_verifier(infra_.settings)
    app = Flask(infra_.settings.service, static_folder=None)  # no unauthenticated file route
    app.config["MAX_CONTENT_LENGTH"] = infra_.settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["coins"] = infra_
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_reset_trace)
    _register_errors(app)
    app.register_blueprint(_ops_blueprint(title, description))
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    check_routes(app, OPEN_PREFIXES)
    _retry_reads(app)
    return app


def _retry_reads(app: Flask) -> None:
    """Every read-only /v1 view is retried on a transient database error. Pooled connections are
    not pinged before use (a round trip per request); one that died with its server fails its
    first statement, SQLAlchemy drops the pool, and the retry runs on a fresh connection. Views
    that write retry through `idempotent(transactional=True)` or their own retry_transient."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.methods - {"GET", "HEAD", "OPTIONS"}:
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "retries_reads", False):
            continue

        def retried(*args, _view=view, **kwargs):
            return retry_transient(lambda: _view(*args, **kwargs))
        app.view_functions[rule.endpoint] = wraps(view)(retried)
        app.view_functions[rule.endpoint].retries_reads = True


def _start_request():
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Trace-Id") or _traceparent_id(request.headers.get("traceparent"))
    g.trace_token = set_trace_id(incoming if incoming and TRACE_ID.match(incoming) else new_trace_id())
    if request.path.startswith("/v1"):
        try:
            g.caller = infra().verifier.authenticate(request.headers.get("Authorization"))
        except AuthError as exc:
            raise Problem(exc.status, "Unauthorized", exc.detail, code="unauthorized",
                          headers={"WWW-Authenticate": 'Bearer realm="coins"'}) from exc
        _check_path_ids()
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        permission = getattr(view, "permission", None)
        if view is not None and (permission is None or not g.caller.may(permission)):
            raise Problem(403, "Forbidden", f"Caller {g.caller.name!r} may not {permission or 'call this'}.",
                          code="forbidden")


def _check_path_ids() -> None:
    """Every path parameter is an id (1-64 safe characters); anything else cannot exist: 404."""
    for name, value in (request.view_args or {}).items():
        if not isinstance(value, str) or not ID_RE.match(value):
            raise Problem(404, "Not found", f"No such {name.removesuffix('_id')}.", code="not-found")


def _traceparent_id(header: str | None) -> str | None:
    parts = (header or "").split("-")
    return parts[1] if len(parts) == 4 else None


def _finish_request(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else "unmatched"
    service = infra().settings.service
    metrics.HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
    if "started" in g:
        elapsed = time.perf_counter() - g.started
        metrics.HTTP_LATENCY.labels(service, request.method, route).observe(elapsed)
        level = logging.DEBUG if request.path.startswith(OPEN_PREFIXES) else logging.INFO
        log.log(level, "request", extra={"method": request.method, "path": request.path, "status":
                                         response.status_code, "duration_ms": round(elapsed * 1000, 2),
                                         "caller": g.caller.name if "caller" in g else None})
    response.headers["X-Trace-Id"] = current_trace_id() or ""
    return response


def _reset_trace(_exc):
    token = g.pop("trace_token", None)
    if token is not None:
        reset_trace_id(token)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc)

    @app.errorhandler(DomainError)
    @app.errorhandler(ValidationError)
    def _domain(exc):
        return render_error(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.code, "http-error")
        detail = exc.description if exc.code != 413 else \
            f"The body is larger than {infra().settings.max_body_bytes} bytes."
        return problem_response(Problem(exc.code or 500, exc.name, detail, code=code))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from shared.db import is_transient
        if is_transient(exc):
            log.warning("database unavailable", extra={"error": str(exc)[:300]})
            return problem_response(Problem(503, "Service unavailable", "The database is unavailable; retry "
                                            "with the same Idempotency-Key.", code="unavailable",
                                            headers={"Retry-After": "1"}))
        log.exception("unhandled error")
        return problem_response(Problem(500, "Internal error", "An unexpected error occurred.", code="internal"))


def _ops_blueprint(title: str, description: str) -> Blueprint:
    bp = Blueprint("ops", __name__)

    @bp.get("/health/live")
    def live():
        return jsonify(status="ok")

    @bp.get("/health/ready")
    def ready():  # ready with the database; a broker outage is reported, see shared.health
        verdict = web_readiness(infra().engine, infra().settings.kafka.bootstrap_servers, infra().tables["outbox"])
        return jsonify(verdict.body), verdict.status

    @bp.get("/metrics")
    def metrics_endpoint():
        i, service = infra(), infra().settings.service
        gauges = [metrics.CallbackGauges(outbox_gauges(i.engine, i.tables["outbox"], service)),
                  metrics.CallbackGauges(broker_gauge(i.settings.kafka.bootstrap_servers, service))]
        body, content_type = metrics.render(gauges + i.collectors)
        return Response(body, content_type=content_type)

    @bp.get("/openapi.json")
    def openapi():
        return jsonify(build_openapi(current_app, title=title, description=description))

    return bp


def lazy_app(factory: Callable[[], Flask]):
    """A module `__getattr__` that builds `app` on first access (for gunicorn), so importing a
    wsgi module builds nothing."""
    def __getattr__(name: str):
        if name != "app":
            raise AttributeError(name)
        module = sys.modules[factory.__module__]
        module.app = factory()
        return module.app
    return __getattr__
