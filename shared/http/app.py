"""The HTTP edge every service shares: the app's one wiring object and how the edge reaches it, a
route declared in one place, what happens to every request before and after its view (W3C
trace context, authentication and permission, path ids, request metrics and log line, the
`Location` of what a POST made, its JSON rendered), and how a view reads the request's input (the
raw body, size-limited, chunked or not; a JSON object body and query arguments through a
marshmallow schema; a batch's items; the keyset page of a listing).

Each service builds one container per process (`services/<name>/bootstrap.py`, `<Name>Service`:
settings, engine, tables, units of work, adapters); the factory (shared.http.factory
`create_app`) keeps it as `app.extensions["coins"]`, adds the token verifier, and every part of
the request reaches it through `wiring()`: the edge here, the views through their `service()`.

A /v1 route is declared once: `@route(bp, "POST /gifts", permission=..., keyed=..., doc=Doc(...))`
adds the view to its blueprint and records a `RouteSpec` under its endpoint. The permission check
here, the start-up guard (shared.http.guard), the OpenAPI builder (shared.http.openapi) and the
`Location` header read it through `spec_of(endpoint)`; a route without one is refused at start-up.

Views parse their input (`json_body`, `query_args`), call a handler, and dump a response schema;
keyed POSTs go through shared.idempotency.http; errors become problem+json in
shared.http.problems; the open endpoints are shared.http.ops_views. Those modules build on this
one's declarations, and the factory on all of them."""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson
import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema, ValidationError, missing
from sqlalchemy.engine import Engine
from werkzeug.exceptions import RequestEntityTooLarge

from shared.auth.tokens import AuthError, TokenVerifier
from shared.errors import Problem, validation_problem
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


# -- the response's JSON --------------------------------------------------------------------------
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


# -- a request's input, as the views read it ------------------------------------------------------
def request_body() -> bytes:
    """The raw body, refused with 413 past MAX_BODY_BYTES, chunked or not."""
    if "raw_body" not in g:
        if request.content_length is not None:
            g.raw_body = request.get_data(cache=True)  # Werkzeug refuses a Content-Length over the limit
        else:
            # Chunked: gunicorn has de-chunked wsgi.input; Werkzeug would read it as empty or truncate it.
            limit = wiring().settings.common.max_body_bytes
            g.raw_body = request.environ["wsgi.input"].read(limit + 1)
            if len(g.raw_body) > limit:
                raise RequestEntityTooLarge()
    return g.raw_body


def json_body(schema: Schema, *, items: str | None = None) -> dict:
    """The body through `schema`. `items`: the field holding a batch's items, each judged on its
    own by the view (`item_problem(item)`): text that is not valid Unicode in one, or a field it
    names twice, is that item's refusal, not the batch's. A field named twice anywhere else is
    the body's."""
    raw = request_body()
    if not raw.strip():
        raise Problem(
            400,
            "Body required",
            "Send a JSON object body.",
            code="malformed-body",
            errors={"body": ["A JSON object is required."]},
        )
    _refuse_deep_nesting(raw)
    try:
        # As UTF-8 (RFC 8259 8.1; a BOM is let pass), the encoding the depth check read the bytes
        # in: json.loads would take UTF-16 or UTF-32 bytes as they come, nested past that check.
        data = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_object)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Problem(
            400,
            "Malformed JSON",
            f"The body is not valid JSON: {exc}",
            code="malformed-body",
            errors={"body": ["Not valid JSON."]},
        ) from exc
    if not isinstance(data, dict):
        raise Problem(
            400,
            "Malformed body",
            "The body must be a JSON object.",
            code="malformed-body",
            errors={"body": ["Must be a JSON object."]},
        )
    # Only a \u escape or a byte past ASCII (json.loads lets surrogates through either way) can
    # make one; the walk costs as much as the parse on a big body.
    g.may_hold_surrogates = not raw.isascii() or b"\\u" in raw
    errors = _unreadable_fields(data)
    if items is not None:
        errors = {name: why for name, why in errors.items() if not name.startswith(f"{items}.")}
    if errors:
        raise validation_problem(errors)
    return schema.load(data)


def item_problem(item) -> Problem | None:
    """For a batch item of this request's body (json_body's `items`): the 422 naming its fields
    that hold text no database can store, or that it names more than once, as the body alone
    would get; None if none does."""
    errors = _unreadable_fields(item)
    return validation_problem(errors) if errors else None


def _unreadable_fields(value) -> dict[str, list[str]]:
    """Dotted names of the fields that hold text that is not valid Unicode (JSON lets "\\ud800"
    through; no database can store it), or that their object names more than once."""
    errors: dict[str, list[str]] = {}
    if g.get("may_hold_surrogates") or g.get("repeated_members"):
        _walk(value, "", errors, surrogates=bool(g.get("may_hold_surrogates")))
    return errors


def _walk(value, name: str, errors: dict[str, list[str]], *, surrogates: bool) -> None:
    if isinstance(value, str):
        if surrogates and not _encodable(value):
            errors.setdefault(name or "body", []).append("Contains a lone UTF-16 surrogate.")
    elif isinstance(value, dict):
        if surrogates and not all(_encodable(str(k)) for k in value):
            errors.setdefault(name or "body", []).append("Contains a lone UTF-16 surrogate.")
        for key in getattr(value, "repeated", ()):
            errors.setdefault(f"{name}.{key}" if name else key, []).append("Given more than once.")
        for key, item in value.items():
            _walk(item, f"{name}.{key}" if name else str(key), errors, surrogates=surrogates)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{name}.{i}" if name else str(i), errors, surrogates=surrogates)


class _Repeated(dict):
    """An object of the body that names members more than once (`repeated`), read as JSON parsers
    do, the last one counting. Refused: a gateway that read the first `sender_id` and checked that
    user would have this service debit the other one."""

    repeated: list[str]


def _object(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    g.repeated_members = True
    repeated = _Repeated(found)
    repeated.repeated = sorted(name for name, n in Counter(name for name, _ in pairs).items() if n > 1)
    return repeated


MAX_JSON_DEPTH = 32  # no body of this API nests more than 3 deep
# A string, or an unterminated one running to the end: each match ends where the next search
# starts, so the walk is linear (ending only at a closing quote, every `"` rescanned the rest of a
# body of `\"`s: quadratic, an hour of CPU for 1 MiB).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.S)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _refuse_deep_nesting(raw: bytes) -> None:
    """400 for a body nested deeper than MAX_JSON_DEPTH, found on the bytes before any object is
    built (parsing and walking a deep body costs a frame per level, and the stack is finite)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # the common case: too few brackets to nest that deep
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            raise Problem(
                400,
                "Body nested too deeply",
                f"JSON bodies may nest at most {MAX_JSON_DEPTH} levels.",
                code="malformed-body",
                errors={"body": [f"Nested more than {MAX_JSON_DEPTH} levels."]},
            )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def query_args(schema: Schema) -> dict:
    """The query through `schema`; a parameter given twice is refused (which one would count?)."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise validation_problem({name: ["Given more than once."] for name in repeated})
    return schema.load(request.args.to_dict())


def keyset_page(rows: list, limit: int, cursor_of: Callable) -> tuple[list, str | None]:
    """Rows fetched with limit + 1: the page, and the cursor of the next page (None at the end)."""
    page = rows[:limit]
    return page, (cursor_of(page[-1]) if len(rows) > limit else None)


class ManyItems:
    """Loads the items of one batch with one schema, each distinct value of each field checked
    once: a batch's items repeat their values (the same gift, the same creator), and a marshmallow
    load per item costs more than all else done for it. The fields' own `deserialize` (type and
    validators) judges each new value; an item this cannot vouch for (not an object, a field unknown
    or missing, a value refused or unhashable) is loaded by the schema itself, so its errors are the
    schema's, word for word. For schemas without hooks (pre/post-load, schema validators) whose
    fields read only their own value (not Method, Function or Nested)."""

    def __init__(self, schema: Schema):
        if any(schema._hooks.values()):
            raise TypeError(f"{type(schema).__name__} has hooks: load its items one by one")
        self._schema = schema
        self._fields = {field.data_key or name: (name, field) for name, field in schema.load_fields.items()}
        self._required = frozenset(key for key, (_, field) in self._fields.items() if field.required)
        self._seen: dict[tuple, object] = {}  # (data key, type, value) -> the field's deserialized value

    def load(self, raw) -> dict:
        """The item as `schema.load(raw)` reads it; raises its ValidationError."""
        loaded = self._loaded(raw) if isinstance(raw, dict) and self._required <= raw.keys() else None
        return self._schema.load(raw) if loaded is None else loaded

    def _loaded(self, raw: dict) -> dict | None:
        loaded = {}
        for key, value in raw.items():
            if key not in self._fields:
                return None
            name, field = self._fields[key]
            seen = (key, type(value), value)
            try:
                loaded[name] = self._seen[seen]
            except KeyError:
                try:
                    loaded[name] = self._seen[seen] = field.deserialize(value, key, raw)
                except ValidationError:
                    return None
            except TypeError:  # unhashable: a list or an object where a value belongs
                return None
        for name, field in self._fields.values():
            if name not in loaded and field.load_default is not missing:
                default = field.load_default
                loaded[name] = default() if callable(default) else default
        return loaded
