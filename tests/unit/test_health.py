"""Liveness and readiness of background processes, and their probe port's answers."""

from __future__ import annotations

from werkzeug.test import Client

from shared import metrics
from shared.health import ProcessHealth
from shared.probes import probe_app


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_process_whose_loop_stops_coming_round_is_no_longer_live_nor_ready():
    clock = Clock()
    health = ProcessHealth(stall_after_s=30, clock=clock)
    health.report("broker", True)
    assert health.live().ok and health.ready().ok
    clock.now += 31
    assert not health.live().ok and not health.ready().ok
    health.beat()
    assert health.live().ok and health.ready().ok


def test_a_failing_signal_makes_it_unready_but_still_live_and_says_which():
    health = ProcessHealth()
    health.report("broker", False, "sends not acknowledged")
    health.report("loop", True)
    verdict = health.ready()
    assert not verdict.ok and verdict.status == 503
    assert verdict.body["checks"] == {"broker": "sends not acknowledged", "loop": "ok"}
    assert health.live().ok


def test_the_probe_port_answers_metrics_liveness_and_readiness_with_extra_checks():
    health = ProcessHealth()
    metrics.OUTBOX_PUBLISHED.labels("probe-test").inc(3)
    gauges = metrics.CallbackGauges(lambda: [("coins_outbox_backlog_events", "waiting", {"service": "probe-test"}, 7)])
    broker = {"broker": "ok"}
    client = Client(probe_app(health, [gauges], ready_checks=lambda: dict(broker)))
    scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert 'coins_outbox_published_total{service="probe-test"} 3.0' in scrape.text
    assert 'coins_outbox_backlog_events{service="probe-test"} 7.0' in scrape.text
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    broker["broker"] = "unreachable"
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json["checks"]["broker"] == "unreachable"
    assert client.get("/nothing").status_code == 404


def test_a_scrape_time_gauge_that_fails_leaves_the_rest_of_the_scrape_intact():
    def broken():
        raise RuntimeError("database away")

    body, _ = metrics.render([metrics.CallbackGauges(broken)])
    assert b"# TYPE coins_http_requests_total counter" in body
