"""The app factory: a service's Flask app from its one wiring object (shared.http.app `Wiring`) and
its blueprints, with the request hooks, the problem+json handlers, the open routes, the start-up
checks of its routes and its token verifier, and retried reads.

Each service's `entrypoints/wsgi.py` calls it from its own `create_app()`, the factory gunicorn
runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import wraps

from flask import Blueprint, Flask

from shared.credentials import refuse_foreign
from shared.db.engines import retry_transient
from shared.http.app import OPEN_PREFIXES, CompactJSON, Wiring, install_request_hooks
from shared.http.guard import build_verifier, check_routes
from shared.http.ops_views import ops_blueprint
from shared.http.problems import register_error_handlers
from shared.observability.logs import configure_logging


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
    settings = service.settings.common
    configure_logging(settings.service, settings.log_level)
    refuse_foreign(settings.service, "web", os.environ, settings.environment)
    service.verifier = service.verifier or build_verifier(settings)
    app = Flask(settings.service, static_folder=None)  # no unauthenticated file route
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = CompactJSON(app)
    app.extensions["coins"] = service
    install_request_hooks(app)
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
