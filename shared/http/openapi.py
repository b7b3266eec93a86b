"""OpenAPI 3 documents built from the routes themselves and their marshmallow schemas.

Views carry their documentation with `@doc(...)`; `build_openapi` walks the URL map, so
the document cannot drift from the routes that exist.
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from shared import __version__
from shared.fields import ID_PATTERN

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
STANDARD_ERRORS = {
    400: "Malformed request",
    401: "Missing or invalid token",
    403: "Caller may not do this",
    413: "Body too large",
    422: "Invalid fields",
}


def doc(*, summary: str, body=None, query=None, responses: dict | None = None, errors: dict | None = None):
    def deco(view):
        view.apidoc = {
            "summary": summary,
            "body": body,
            "query": query,
            "responses": responses or {},
            "errors": errors or {},
        }
        return view

    return deco


def build_openapi(app: Flask, *, title: str, description: str) -> dict:
    spec = APISpec(
        title=title,
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": description},
    )
    spec.components.schema("Problem", PROBLEM)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "apidoc", None)
        if meta is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, view, meta)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(rule, view, meta: dict) -> dict:
    op: dict = {
        "summary": meta["summary"],
        "operationId": rule.endpoint.replace(".", "_"),
        "security": [{"bearer": []}],
        "parameters": [],
        "responses": {},
    }
    for arg in rule.arguments:
        op["parameters"].append(
            {"in": "path", "name": arg, "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
        )
    if meta["query"] is not None:
        op["parameters"].append({"in": "query", "schema": meta["query"]})
    if getattr(view, "idempotent", False):
        op["parameters"].append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": getattr(view, "idempotency_key_required", True),
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    if meta["body"] is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta["body"]}}}
    for status, schema in meta["responses"].items():
        op["responses"][str(status)] = {"description": "Success", "content": {"application/json": {"schema": schema}}}
    errors = dict(STANDARD_ERRORS)
    if rule.arguments:
        errors.setdefault(404, "Not found")
    errors.update(meta["errors"])
    if getattr(view, "idempotent", False):
        errors.setdefault(409, "Same Idempotency-Key still in flight")
    for status, description in errors.items():
        op["responses"][str(status)] = {
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return op
