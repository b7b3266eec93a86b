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
from sqlalchemy.engine import Connection, Engine
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared import metrics
from shared.auth import AuthError, TokenVerifier
from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, Problem, validation_problem
from shared.fields import ID_PATTERN
from shared.db import retry_transient, safe_error
from shared.guard import build_verifier, check_routes
from shared.health import broker_gauge, outbox_gauges, web_readiness
from shared.idempotency import Answer, Claim, KeyedRequest, KeyStore, check_key, run_in_transaction, run_leased
from shared.logs import configure_logging, current_trace_id, new_trace_id, reset_trace_id, set_trace_id
from shared.openapi import build_openapi
from shared.settings import CommonSettings

log = logging.getLogger(__name__)
TRACE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
ID_RE = re.compile(ID_PATTERN)
OPEN_PREFIXES = ("/health/", "/metrics", "/openapi.json")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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


@dataclass(frozen=True)
class KeyedCall:
    """What an idempotent view is called with (`call=`): its attempt's claim on the request's
    Idempotency-Key (None without a key) and, where the view's whole effect lies in one
    transaction, that transaction's connection for its unit of work."""
    claim: Claim | None
    conn: Connection | None = None


def idempotent(*, required: bool = True, transactional: bool = False,
               render_again: Callable[[Connection, str], object] | None = None):
    """Idempotency-Key handling for a POST: the rules and both ways of running an attempt are in
    shared.idempotency. transactional: the view's whole effect lies in this service's database
    (`run_in_transaction`); otherwise an outside call runs in the middle (`run_leased`).
    render_again(conn, resource_id) -> body: the view's effect is one statement that may claim
    the key itself (`Claim.in_statement`), and a retry is answered with the resource it made."""
    def deco(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            key = check_key(request.headers.get("Idempotency-Key"), required=required)
            keyed = None if key is None else KeyedRequest.of(
                caller=g.caller.name, key=key, method=request.method, path=request.path, body=request_body())
            engine = infra().engine
            store = KeyStore(infra().tables["idempotency_keys"], infra().settings.idempotency_lease_seconds)

            def attempt(call: KeyedCall) -> Answer:
                return _answer_of(lambda: view(*args, call=call, **kwargs))
            if transactional:
                rendered = None if render_again is None else (
                    lambda conn, resource_id: current_app.make_response(render_again(conn, resource_id))
                    .get_data(as_text=True))
                answer = run_in_transaction(engine, store, keyed, lambda conn, claim: attempt(KeyedCall(claim, conn)),
                                            render_again=rendered)
            elif keyed is None:
                answer = attempt(KeyedCall(None))
            else:
                answer = run_leased(engine, store, keyed, lambda claim: attempt(KeyedCall(claim)))
            return _response_of(answer)
        wrapper.idempotent = True
        wrapper.idempotency_key_required = required
        return wrapper
    return deco


def _answer_of(call_view: Callable[[], object]) -> Answer:
    """The view's answer, a refusal rendered as problem+json; anything else propagates."""
    try:
        response = current_app.make_response(call_view())
    except (Problem, DomainError, ValidationError) as exc:
        response = render_error(exc)
    return Answer(response.status_code, response.get_data(as_text=True), live=response)


def _response_of(answer: Answer) -> Response:
    if not answer.replayed:
        return answer.live
    content_type = PROBLEM_CONTENT_TYPE if answer.status >= 400 else "application/json"
    response = Response(answer.body, status=answer.status, content_type=content_type)
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
    unencodable = _lone_surrogates(data)
    if unencodable:  # JSON lets "\ud800" through; no database can store it
        raise validation_problem({name: ["Contains a lone UTF-16 surrogate."] for name in unencodable})
    return schema.load(data)


def _lone_surrogates(value, name: str = "") -> list[str]:
    """Dotted names of the fields (or keys) holding text that is not valid Unicode."""
    if isinstance(value, str):
        return [] if _encodable(value) else [name or "body"]
    if isinstance(value, dict):
        found = [name or "body"] if not all(_encodable(str(k)) for k in value) else []
        for key, item in value.items():
            found += _lone_surrogates(item, f"{name}.{key}" if name else str(key))
        return found
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _lone_surrogates(item, f"{name}.{i}" if name else str(i))]
    return []


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


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
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            raise Problem(404, "Not found", f"No such {name.removesuffix('_id')}.", code="not-found")


def _traceparent_id(header: str | None) -> str | None:
    parts = (header or "").split("-")
    return parts[1] if len(parts) == 4 else None


def _finish_request(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule else "unmatched"
    service = infra().settings.service
    method = request.method if request.method in METHODS else "other"  # a label from a fixed set, not the client's
    metrics.HTTP_REQUESTS.labels(service, method, route, str(response.status_code)).inc()
    if "started" in g:
        elapsed = time.perf_counter() - g.started
        metrics.HTTP_LATENCY.labels(service, method, route).observe(elapsed)
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
        allow = dict(exc.get_headers()).get("Allow")  # a 405 names the methods it allows (RFC 9110)
        return problem_response(Problem(exc.code or 500, exc.name, detail, code=code,
                                        headers={"Allow": allow} if allow else None))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from shared.db import is_transient
        if is_transient(exc):
            log.warning("database unavailable", extra={"error": safe_error(exc)[:300]})
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
