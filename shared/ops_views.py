"""The open endpoints every service's app serves beside its API: liveness and readiness
(shared.health), Prometheus metrics (shared.metrics) and its OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from shared import metrics
from shared.app_infra import infra
from shared.health import broker_gauge, outbox_gauges, web_readiness
from shared.openapi import build_openapi

OPEN_PREFIXES = ("/health/", "/metrics", "/openapi.json")  # served without a token


def ops_blueprint(title: str, description: str) -> Blueprint:
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
        gauges = [
            metrics.CallbackGauges(outbox_gauges(i.engine, i.tables["outbox"], service)),
            metrics.CallbackGauges(broker_gauge(i.settings.kafka.bootstrap_servers, service)),
        ]
        body, content_type = metrics.render(gauges + i.collectors)
        return Response(body, content_type=content_type)

    @bp.get("/openapi.json")
    def openapi():
        return jsonify(build_openapi(current_app, title=title, description=description))

    return bp
