"""The open endpoints every service's app serves beside its API: liveness and readiness
(shared.runtime.health), Prometheus metrics (shared.observability.metrics) and its OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from shared.http.infra import infra
from shared.http.openapi import build_openapi
from shared.observability import metrics
from shared.runtime.health import Refreshed, broker_gauge, outbox_gauges, web_readiness

OPEN_PREFIXES = ("/health/", "/metrics", "/openapi.json")  # served without a token


READINGS_EVERY_S = 1.0  # how stale readiness and the scrape-time gauges may be


def ops_blueprint(title: str, description: str) -> Blueprint:
    bp = Blueprint("ops", __name__)
    readings: dict[str, Refreshed] = {}  # this app's, made on first use (infra() needs the app)

    def reading(name: str) -> Refreshed:
        if name not in readings:
            i, service = infra(), infra().settings.service
            readings.update(
                ready=Refreshed(
                    lambda: web_readiness(i.engine, i.settings.kafka.bootstrap_servers, i.tables["outbox"])
                ),
                outbox=Refreshed(outbox_gauges(i.engine, i.tables["outbox"], service), READINGS_EVERY_S),
                broker=Refreshed(broker_gauge(i.settings.kafka.bootstrap_servers, service), READINGS_EVERY_S),
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
        body, content_type = metrics.render(gauges + infra().collectors)
        return Response(body, content_type=content_type)

    @bp.get("/openapi.json")
    def openapi():
        return jsonify(build_openapi(current_app, title=title, description=description))

    return bp
