"""A /v1 route declared in one place: `@route(bp, "POST /gifts", permission=..., keyed=..., doc=Doc(...))`
adds the view to its blueprint and records a `RouteSpec` under its endpoint. The edge's permission
check and start-up guard (app, guard), the OpenAPI builder and the `Location` header read it through
`spec_of(endpoint)`; a route without one is refused at start-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from flask import Blueprint


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
