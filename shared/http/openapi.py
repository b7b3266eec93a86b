"""OpenAPI 3 documents built from the routes themselves and their marshmallow schemas.

Routes carry their documentation in their declaration (shared.http.app `Doc`); `build_openapi`
walks the URL map, so the document cannot drift from the routes that exist. What every route of a kind shares is derived
here, not written per route: the token and the refusals the edge makes (401/403, 404 for a path
id, 503 when the database is down), the input's (400/413/422 for a body, 422 for a query), the
Idempotency-Key's (400/409/422, `Idempotent-Replayed` on a stored answer), the response headers
(`traceparent` on every one), a tag per resource, and examples from the fields' `example` metadata.
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

from shared import __version__
from shared.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE
from shared.fields import ID_PATTERN, KEY_PATTERN
from shared.http.app import LOCATED, Doc, RouteSpec, spec_of

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each refused field (dotted for nested ones).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": f"{PROBLEM_BASE}<code>: what kind of refusal"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request's path"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
# An example problem per status, as the edge words it (a route's own refusals have their own codes).
PROBLEM_EXAMPLES = {
    400: ("malformed-body", "Malformed JSON", "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    401: ("unauthorized", "Unauthorized", "The token has expired."),
    403: ("forbidden", "Forbidden", "Caller 'live' may not act for a user without a user grant (X-User-Grant)."),
    404: ("not-found", "Not found", "No such resource."),
    409: (
        "idempotency-key-in-flight",
        "Request in flight",
        "A request with this Idempotency-Key is still being processed.",
    ),
    413: ("payload-too-large", "Request Entity Too Large", "The body is larger than 1048576 bytes."),
    422: ("validation-error", "Validation failed", "The request has invalid fields: {field}"),
    503: ("unavailable", "Service unavailable", "The database is unavailable; retry with the same Idempotency-Key."),
}
HEADERS = {
    "traceparent": {
        "description": "W3C Trace Context of this request's span: a child of the caller's `traceparent` if it "
        "sent one (its `tracestate` is passed back too), else the first span of a new trace",
        "schema": {"type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
    },
    "X-Trace-Id": {"description": "The trace id alone (for log searches)", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same "
        "Idempotency-Key: nothing was done again",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying (with the same Idempotency-Key)",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Location": {"description": "The URL of the resource made", "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": 'Bearer realm="coins"', "schema": {"type": "string"}},
}
CONVENTIONS = """

Every `/v1` call sends `Authorization: Bearer <JWT>`: a token signed by the calling service's own key
(`coinsctl token --caller NAME --service SERVICE` makes one locally); the service's policy says which
caller may call which route. A caller acting for a user without `users:any` sends that user's grant in
`X-User-Grant`. POSTs that move money take an `Idempotency-Key`: a retry with the same key and body gets
the first answer again (`Idempotent-Replayed: true`), never a second effect. Refusals are
`application/problem+json` (RFC 9457). Each response carries its `traceparent` (W3C Trace Context);
send yours to join the caller's trace. Money is in integer units named by the field (`coins`,
`diamonds`, `*_minor`)."""

USER_GRANT = {
    "in": "header",
    "name": "X-User-Grant",
    "required": False,
    "description": "A user grant: a token whose `sub` is the user acted for, `azp` the caller and `aud` "
    "this service, signed by a caller holding `users:any` here (the gateway); bound to one call (what it "
    "allows, e.g. `max_coins`, and its `jti` spent once, shared.auth.onbehalf). Needed only by callers "
    "without `users:any`; without either, or with a grant refused, the call is 403.",
    "schema": {"type": "string"},
}
AUDIT_TAG = "audit"
AUDIT_TAG_DESCRIPTION = "Ops-only totals and listings in id order, read by `coinsctl audit` (needs `audit:read`)"


def build_openapi(app: Flask, *, title: str, description: str, tags: dict[str, str] | None = None) -> dict:
    """The app's document; tags: {tag: description} of the resources its routes are tagged with."""
    spec = APISpec(
        title=title,
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": description + CONVENTIONS},
        security=[{"bearer": []}],
    )
    spec.components.schema("Problem", PROBLEM)
    spec.components.security_scheme(
        "bearer",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token the calling service signs with its own key (EdDSA or ES256): `sub` the "
            "caller, `aud` this service, short-lived",
        },
    )
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    paths: dict[str, dict] = {}
    tag_descriptions, tags = tags, set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        declared = spec_of(rule.endpoint)
        if declared is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = _operation(rule, path, declared)
            tags.update(operation["tags"])
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    described = {AUDIT_TAG: AUDIT_TAG_DESCRIPTION, **(tag_descriptions or {})}
    document["tags"] = [
        {"name": name, **({"description": described[name]} if name in described else {})} for name in sorted(tags)
    ]
    return document


def _tag(path: str, meta: Doc) -> str:
    segments = path.strip("/").split("/")
    first = segments[1] if len(segments) > 1 and segments[0] == "v1" else segments[0]
    return meta.tag or (AUDIT_TAG if first == "internal" else first)


def _operation(rule, path: str, spec: RouteSpec) -> dict:
    meta, idempotent = spec.doc, spec.idempotency_key is not None
    op: dict = {
        "tags": [_tag(path, meta)],
        "summary": meta.summary,
        "operationId": rule.endpoint.rsplit(".", 1)[-1],  # the view's name: a client's function name
        "parameters": [],
        "responses": {},
    }
    for arg in rule.arguments:
        op["parameters"].append(
            {"in": "path", "name": arg, "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
        )
    if meta.query is not None:
        op["parameters"].append({"in": "query", "schema": meta.query})
    if idempotent:
        op["parameters"].append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": spec.idempotency_key == "required",
                "description": "Unique per intended effect (a UUID, say): a retry with the same key and body "
                "is answered with the first answer, never applied twice; the same key with another body is 422",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
            }
        )
    if meta.acts_for:
        op["parameters"].append(dict(USER_GRANT))
    if meta.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": _media(meta.body)}}
    for status, schema in meta.responses.items():
        headers = _headers(idempotent, status)
        if meta.location and status in LOCATED:
            headers["Location"] = {"$ref": "#/components/headers/Location"}
        op["responses"][str(status)] = {
            "description": "Accepted: not final yet" if status == 202 else "Created" if status == 201 else "OK",
            "headers": headers,
            "content": {"application/json": _media(schema)},
        }
    for status, reasons in sorted(_refusals(rule, spec).items()):
        headers = _headers(idempotent, status)
        if status == 401:
            headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
        if status == 503 or (status == 409 and idempotent):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        op["responses"][str(status)] = {
            "description": "; or ".join(reasons),
            "headers": headers,
            "content": {PROBLEM_CONTENT_TYPE: _problem_media(status, path, meta)},
        }
    return op


def _problem_media(status: int, path: str, meta: Doc) -> dict:
    media: dict = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if status not in PROBLEM_EXAMPLES:
        return media
    code, title, detail = PROBLEM_EXAMPLES[status]
    example = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail, "instance": path}
    if status == 422:
        input_schema = meta.body or meta.query
        names = (
            list((input_schema() if isinstance(input_schema, type) else input_schema).fields) if input_schema else []
        )
        if not names:
            return media  # a refusal of the route's own (no input to name)
        field = names[0]
        example["detail"] = detail.format(field=field)
        example["errors"] = {field: ["Missing data for required field."]}
    media["example"] = example
    return media


def _refusals(rule, spec: RouteSpec) -> dict[int, list[str]]:
    """{status: reasons}: the route's own first, then those of its kind of route (see the module doc)."""
    meta = spec.doc
    reasons: dict[int, list[str]] = {status: [reason] for status, reason in meta.errors.items()}

    def add(status: int, reason: str) -> None:
        reasons.setdefault(status, []).append(reason)

    add(401, "Missing, invalid or expired token")
    add(403, "The caller's token does not grant this route")
    if meta.acts_for:
        add(403, "The caller may not act for this user (no `users:any`, no valid X-User-Grant)")
    if rule.arguments:
        add(404, "No such " + ", ".join(arg.removesuffix("_id") for arg in rule.arguments))
    if meta.body is not None:
        add(400, "Body missing, not JSON, not an object, or nested too deeply")
        add(413, "Body too large")
        add(422, "Invalid fields (named in `errors`)")
    if meta.query is not None:
        add(422, "Invalid query parameters (named in `errors`)")
    if spec.idempotency_key is not None:
        required = spec.idempotency_key == "required"
        add(400, "Idempotency-Key missing or invalid" if required else "Idempotency-Key invalid")
        add(409, "A request with this Idempotency-Key is still in flight: retry after Retry-After")
        add(422, "This Idempotency-Key was used with another request")
    add(503, "The database is unavailable: retry after Retry-After (with the same Idempotency-Key)")
    return {status: list(dict.fromkeys(found)) for status, found in reasons.items()}


NEVER_REPLAYED = frozenset({401, 413})  # refused before an attempt runs (a 5xx is never kept either)


def _headers(idempotent: bool, status: int) -> dict:
    headers = {"traceparent": {"$ref": "#/components/headers/traceparent"}}
    headers["X-Trace-Id"] = {"$ref": "#/components/headers/X-Trace-Id"}
    if idempotent and status < 500 and status not in NEVER_REPLAYED:
        headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
    return headers


def _media(schema) -> dict:
    media: dict = {"schema": schema}
    example = example_of(schema)
    if example:
        media["example"] = example
    return media


def example_of(schema) -> dict:
    """An example object from the schema's fields' `example` metadata (nested schemas included)."""
    instance = schema() if isinstance(schema, type) else schema
    example = {}
    for name, field in instance.fields.items():
        value = _field_example(field)
        if value is not None:
            example[field.data_key or name] = value
    return example


def _field_example(field: fields.Field):
    if "example" in field.metadata:
        return field.metadata["example"]
    if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
        return example_of(field.schema) or None
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        inner = _field_example(field.inner)
        return [inner] if inner else None
    return None
