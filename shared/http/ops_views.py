"""The open endpoints every service's app serves beside its API: liveness and readiness
(shared.runtime.health), Prometheus metrics (shared.observability.metrics), its OpenAPI document and
a browsable page of it at /docs (Swagger UI, from the pinned `flask-swagger-ui` package's assets:
the browser fetches nothing from elsewhere)."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, abort, current_app, jsonify, send_from_directory

from shared.http.app import wiring
from shared.http.openapi import build_openapi
from shared.observability import metrics
from shared.runtime.health import Refreshed, broker_gauge, outbox_gauges, web_readiness

SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})
# Swagger UI styles elements inline (hence 'unsafe-inline' for styles only) and draws icons from
# data: URLs; its scripts are files served here, and its requests (the document, "Try it out") go
# to this origin only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""
DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: false,
  displayRequestDuration: true,
});
"""


READINGS_EVERY_S = 1.0  # how stale readiness and the scrape-time gauges may be


def ops_blueprint(title: str, description: str, tags: dict[str, str] | None = None) -> Blueprint:
    bp = Blueprint("ops", __name__)
    readings: dict[str, Refreshed] = {}  # this app's, made on first use (wiring() needs the app)

    def reading(name: str) -> Refreshed:
        if name not in readings:
            w = wiring()
            service, broker = w.settings.common.service, w.settings.common.kafka.bootstrap_servers
            readings.update(
                ready=Refreshed(lambda: web_readiness(w.engine, broker, w.tables["outbox"])),
                outbox=Refreshed(outbox_gauges(w.engine, w.tables["outbox"], service), READINGS_EVERY_S),
                broker=Refreshed(broker_gauge(broker, service), READINGS_EVERY_S),
            )
        return readings[name]

    @bp.get("/health/live")
    def live():
        return jsonify(status="ok")

    @bp.get("/health/ready")
    def ready():  # ready with the database; a broker outage is reported, see shared.runtime.health
        verdict = reading("ready").get()
        return jsonify(verdict.body), verdict.status

    @bp.get("/metrics")
    def metrics_endpoint():
        gauges = [metrics.CallbackGauges(reading("outbox").get), metrics.CallbackGauges(reading("broker").get)]
        body, content_type = metrics.render(gauges)
        return Response(body, content_type=content_type)

    @bp.get("/openapi.json")
    def openapi():
        # Built on the first request and kept with the app: its routes do not change once it serves.
        body = current_app.extensions.get("openapi.json")
        if body is None:
            document = build_openapi(current_app, title=title, description=description, tags=tags)
            body = current_app.extensions["openapi.json"] = current_app.json.dumps(document) + "\n"
        return Response(body, content_type="application/json")

    @bp.get("/docs")
    def docs_page():
        page = DOCS_PAGE.format(title=title.replace("&", "&amp;").replace("<", "&lt;"))
        return _docs_response(Response(page, content_type="text/html; charset=utf-8"))

    @bp.get("/docs/init.js")
    def docs_init():
        return _docs_response(Response(DOCS_INIT, content_type="text/javascript; charset=utf-8"))

    @bp.get("/docs/<name>")
    def docs_asset(name: str):
        if name not in DOCS_ASSETS:
            abort(404)
        return _docs_response(send_from_directory(SWAGGER_UI, name, max_age=86400))

    return bp


def _docs_response(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = DOCS_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
