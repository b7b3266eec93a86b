"""The HTTP edge every service shares: the app's one wiring object and how the edge reaches it, a
route declared in one place, the app factory, and what happens to every request before and after
its view (W3C trace context, authentication and permission, path ids, request metrics and log
line, the `Location` of what a POST made, retried reads).

Each service builds one container per process (`services/<name>/bootstrap.py`, `<Name>Service`:
settings, engine, tables, units of work, adapters); `create_app` keeps it as
`app.extensions["coins"]`, adds the token verifier, and every part of the request reaches it
through `wiring()`: the edge here, the views through their `service()`.

A /v1 route is declared once: `@route(bp, "POST /gifts", permission=..., keyed=..., doc=Doc(...))`
adds the view to its blueprint and records a `RouteSpec` under its endpoint. The permission check
here, the start-up guard (shared.http.guard), the OpenAPI builder (shared.http.openapi) and the
`Location` header read it through `spec_of(endpoint)`; a route without one is refused at start-up.

Views parse their input (shared.http.request_input), call a handler, and dump a response schema;
keyed POSTs go through shared.idempotency.http; errors become problem+json in
shared.http.problems; the open endpoints are shared.http.ops_views. Those modules build on this
one's declarations, so the factory imports them where it uses them.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy.engine import Engine

from shared.auth.tokens import AuthError, TokenVerifier
from shared.credentials import refuse_foreign
from shared.db.engines import retry_transient
from shared.errors import Problem
from shared.fields import ID_PATTERN
from shared.observability import metrics, tracing
from shared.observability.logs import configure_logging
from shared.settings import CommonSettings

log = logging.getLogger(__name__)
ID_RE = re.compile(ID_PATTERN)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OPEN_PREFIXES = ("/health/", "/metrics", "/openapi.json", "/docs")  # served without a token (ops_views)
LOCATED = (201, 202)  # the statuses whose answer names what it made (a `Location`)


# -- the wiring -----------------------------------------------------------------------------------
class ServiceSettings(Protocol):
    common: CommonSettings  # what every service reads the same way (shared.settings)


class Wiring(Protocol):
    """What the edge reads from a service's container."""

    settings: ServiceSettings
    engine: Engine
    tables: dict[str, sa.Table]  # the service's tables, the infrastructure ones among them
    verifier: TokenVerifier | None  # set by create_app: only a web process verifies tokens


def wiring() -> Wiring:
    """The running app's service container."""
    return current_app.extensions["coins"]


# -- routes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Doc:
    """A route's documentation. errors: its own refusals {status: reason} (the common ones are
    derived); tag: its resource, if not the path's first segment; acts_for: it names a user it acts
    for (shared.auth.onbehalf: X-User-Grant); location: the made resource's path, a template filled
    from the response body (`/v1/purchases/{purchase_id}`), sent as `Location` on 201/202."""

    summary: str
    body: Any = None
    query: Any = None
    responses: Mapping[int, Any] = field(default_factory=dict)
    errors: Mapping[int, str] = field(default_factory=dict)
    tag: str | None = None
    acts_for: bool = False
    location: str | None = None


class Keyed(Protocol):
    """How a keyed POST runs (shared.idempotency.http `idempotent(...)`): it wraps the view."""

    required: bool

    def wrap(self, view: Callable) -> Callable: ...


@dataclass(frozen=True)
class RouteSpec:
    """What a route needs: the caller's permission, its documentation, and whether it takes an
    Idempotency-Key ("required", "optional", or None: not keyed)."""

    endpoint: str
    method: str
    path: str
    permission: str
    doc: Doc
    idempotency_key: Literal["required", "optional"] | None = None


_SPECS: dict[str, RouteSpec] = {}


def route(blueprint: Blueprint, rule: str, *, permission: str, doc: Doc, keyed: Keyed | None = None):
    """Declare a view at `rule` ("METHOD /path", the path under the blueprint's prefix) on
    `blueprint`, callable with `permission`, documented by `doc`, and run under the
    Idempotency-Key rule when `keyed` is given."""
    method, path = rule.split(" ", 1)

    def deco(view: Callable) -> Callable:
        endpoint = f"{blueprint.name}.{view.__name__}"
        key = None if keyed is None else "required" if keyed.required else "optional"
        _SPECS[endpoint] = RouteSpec(endpoint, method, path, permission, doc, key)
        served = view if keyed is None else keyed.wrap(view)
        blueprint.add_url_rule(path, view.__name__, served, methods=[method])
        return served

    return deco


def spec_of(endpoint: str | None) -> RouteSpec | None:
    """The declaration of the route at `endpoint`, or None (an open route, or an undeclared one)."""
    return _SPECS.get(endpoint) if endpoint else None


def location_of(spec: RouteSpec | None, status: int, body) -> str | None:
    """The `Location` of a response of the route `spec` declares (see `Doc.location`), or None."""
    template = spec.doc.location if spec is not None else None
    if template is None or status not in LOCATED or not isinstance(body, dict):
        return None
    try:
        return template.format(**body)
    except (KeyError, IndexError):
        return None


# -- the app --------------------------------------------------------------------------------------
def create_app(
    service: Wiring,
    *,
    blueprints: Iterable[Blueprint],
    title: str,
    description: str,
    tags: dict[str, str] | None = None,
) -> Flask:
    """service: the process's one wiring object (the service's container, `Wiring`), kept
    as the app's and given its token verifier. tags: {tag: description} for the OpenAPI document's
    resources (shared.http.openapi)."""
    # These build on this module's declarations (wiring, routes): imported here, not at the top.
    from shared.http.guard import build_verifier, check_routes
    from shared.http.ops_views import ops_blueprint
    from shared.http.problems import register_error_handlers

    settings = service.settings.common
    configure_logging(settings.service, settings.log_level)
    refuse_foreign(settings.service, "web", os.environ, settings.environment)
    service.verifier = service.verifier or build_verifier(settings)
    app = Flask(settings.service, static_folder=None)  # no unauthenticated file route
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions["coins"] = service
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_reset_trace)
    register_error_handlers(app)
    app.register_blueprint(ops_blueprint(title, description, tags))
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
    retried_endpoints = set()  # two rules may share an endpoint: wrap its view once
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.methods - {"GET", "HEAD", "OPTIONS"}:
            continue
        if rule.endpoint in retried_endpoints:
            continue
        retried_endpoints.add(rule.endpoint)
        view = app.view_functions[rule.endpoint]

        def retried(*args, _view=view, **kwargs):
            return retry_transient(lambda: _view(*args, **kwargs))

        app.view_functions[rule.endpoint] = wraps(view)(retried)


def _start_request():
    g.started = time.perf_counter()
    verifier = wiring().verifier
    g.trace_span = _request_span()
    g.trace_token = tracing.enter(g.trace_span)
    if request.path.startswith("/v1"):
        try:
            g.caller = verifier.authenticate(request.headers.get("Authorization"))
        except AuthError as exc:
            raise Problem(
                exc.status,
                "Unauthorized",
                exc.detail,
                code="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="coins"'},
            ) from exc
        _check_path_ids()
        spec = spec_of(request.endpoint)
        permission = spec.permission if spec is not None else None
        if request.endpoint is not None and (permission is None or not g.caller.may(permission)):
            raise Problem(
                403, "Forbidden", f"Caller {g.caller.name!r} may not {permission or 'call this'}.", code="forbidden"
            )


def _check_path_ids() -> None:
    """Every path parameter is an id (1-64 safe characters); anything else cannot exist: 404."""
    for name, value in (request.view_args or {}).items():
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            raise Problem(404, "Not found", f"No such {name.removesuffix('_id')}.", code="not-found")


def _request_span() -> tracing.Span:
    """The request's span (SERVER): a child of the caller's `traceparent` (its `tracestate` passed
    on), else the first span of the trace a bare `X-Trace-Id` names, else of a new trace. Under an
    instrumentation's span (opentelemetry-instrumentation-flask: it continued the traceparent) it
    is that span's child, of kind INTERNAL."""
    route = request.url_rule.rule if request.url_rule else None
    method = request.method if request.method in METHODS else "_OTHER"
    attributes = {
        "http.request.method": method,
        "url.path": request.path,
        "url.scheme": request.scheme,
        **({"http.route": route} if route else {}),
        **({"http.request.method_original": request.method} if method == "_OTHER" else {}),
        **({"user_agent.original": request.user_agent.string} if request.user_agent.string else {}),
    }
    name = f"{method} {route}" if route else method
    around = tracing.current()
    if around is not None:
        return tracing.start(name, parent=around, attributes=attributes)
    state = ",".join(request.headers.getlist("tracestate")) or None  # several fields are one list
    return tracing.continued(
        request.headers.get("traceparent"),
        state,
        trace_id=request.headers.get("X-Trace-Id"),
        name=name,
        kind=tracing.SERVER,
        attributes=attributes,
    )


def _finish_request(response: Response) -> Response:
    spec = spec_of(request.endpoint)
    located = response.status_code in LOCATED and response.is_json
    if spec is not None and spec.doc.location and located:  # a replay's too: made from its body
        where = location_of(spec, response.status_code, response.get_json(silent=True))
        if where is not None:
            response.headers["Location"] = where
    route = request.url_rule.rule if request.url_rule else "unmatched"
    service = wiring().settings.common.service
    method = request.method if request.method in METHODS else "other"  # a label from a fixed set, not the client's
    metrics.HTTP_REQUESTS.labels(service, method, route, str(response.status_code)).inc()
    if "started" in g:
        elapsed = time.perf_counter() - g.started
        metrics.HTTP_LATENCY.labels(service, method, route).observe(elapsed)
        level = logging.DEBUG if request.path.startswith(OPEN_PREFIXES) else logging.INFO
        log.log(
            level,
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "caller": g.caller.name if "caller" in g else None,
            },
        )
    span = g.get("trace_span")
    if span is not None:
        span.set(http__response__status_code=response.status_code)
        if response.status_code >= 500:
            span.fail(error_type=str(response.status_code))
        response.headers.update({**span.headers(), "X-Trace-Id": span.trace_id})
    return response


def _reset_trace(exc):
    token, span = g.pop("trace_token", None), g.pop("trace_span", None)
    if token is not None:
        tracing.leave(token)
    if span is not None:
        if exc is not None:
            span.fail(type(exc).__name__, exc)
        span.end()
