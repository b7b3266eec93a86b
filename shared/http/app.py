"""The HTTP edge every service shares: the app's one wiring object and how the edge reaches it, a
route declared in one place, and what happens to every request before and after its view (W3C
trace context, authentication and permission, path ids, request metrics and log line, the
`Location` of what a POST made, its JSON rendered).

Each service builds one container per process (`services/<name>/bootstrap.py`, `<Name>Service`:
settings, engine, tables, units of work, adapters); the factory (shared.http.factory
`create_app`) keeps it as `app.extensions["coins"]`, adds the token verifier, and every part of
the request reaches it through `wiring()`: the edge here, the views through their `service()`.

A /v1 route is declared once: `@route(bp, "POST /gifts", permission=..., keyed=..., doc=Doc(...))`
adds the view to its blueprint and records a `RouteSpec` under its endpoint. The permission check
here, the start-up guard (shared.http.guard), the OpenAPI builder (shared.http.openapi) and the
`Location` header read it through `spec_of(endpoint)`; a route without one is refused at start-up.

Views parse their input (shared.http.request_input), call a handler, and dump a response schema;
keyed POSTs go through shared.idempotency.http; errors become problem+json in
shared.http.problems; the open endpoints are shared.http.ops_views. Those modules build on this
one's declarations, and the factory on all of them."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson
import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.engine import Engine

from shared.auth.tokens import AuthError, TokenVerifier
from shared.errors import Problem
from shared.fields import ID_PATTERN
from shared.observability import metrics, tracing
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


# -- every request -------------------------------------------------------------------------------
def install_request_hooks(app: Flask) -> None:
    """What happens to every request before and after its view (the factory installs it)."""
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_reset_trace)


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


# -- the response's JSON ----------------------------------------------------------------------------
class CompactJSON(DefaultJSONProvider):
    """Flask's JSON for responses, keys in the order the view built them; a compact dump (every
    response's) by orjson, about ten times faster than json.dumps on a batch's answer of a
    thousand items. Whatever orjson renders otherwise than Flask (dates, dataclasses, Decimal)
    or cannot render (an integer past 64 bits) goes to Flask's own rendering."""

    sort_keys = False
    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps(self, obj, **kwargs) -> str:
        if kwargs in ({}, {"separators": (",", ":")}):  # compact, as `response` asks outside debug
            try:
                return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
            except orjson.JSONEncodeError:
                pass
        return super().dumps(obj, **kwargs)
