"""The broker stopped under load: web pods stay ready and keep taking money (their outboxes absorb
the outage), relays and consumers say they cannot work but are not restarted, and once the broker
is back every event reaches its consumer."""

from __future__ import annotations

import pytest
import requests

from coinsctl.recovery import republish
from shared.clock import utcnow
from tests.faults.conftest import metric
from tests.faults.test_faults import funded, gifts
from tests.support.stories import buy, earnings, spendable, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults


def probe(stack, name: str, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{stack.probe_ports[name]}{path}", timeout=5)


def test_broker_stopped_web_pods_stay_ready_and_accept_gifts_background_processes_say_why(api, stack):
    since = utcnow()
    viewer, creator = funded(api), unique("creator")
    stack.broker.stop(kill=True)
    try:
        gifts(api, viewer, creator, 5)  # 201 each, with no broker
        late_buyer = unique("viewer")
        buy(api, late_buyer, package_id="coins_350")
        for service in ("purchase", "gifting", "payout"):
            # Readiness and the scrape-time gauges are readings at most a second old (shared.runtime.health.Refreshed).
            ready = wait_until(
                lambda s=service: (
                    (r := requests.get(f"{stack.url(s)}/health/ready", timeout=5)).json()["status"] == "degraded" and r
                ),
                timeout=10,
                message=f"{service} to report the broker away",
            )
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["broker"] == "unreachable"
            wait_until(lambda s=service: metric(stack, s, "coins_broker_up") == 0.0, timeout=10, message="broker down")
        wait_until(
            lambda: (
                requests.get(f"{stack.url('gifting')}/health/ready", timeout=5).json()["outbox"]["backlog_events"] >= 5
            ),
            timeout=10,
            message="the outbox backlog reported",
        )
        for name in ("gifting-relay", "purchase-relay", "gifting-consumer", "payout-consumer"):
            wait_until(
                lambda n=name: probe(stack, n, "/health/ready").status_code == 503,
                timeout=60,
                message=f"{name} to report itself not ready",
            )
            assert probe(stack, name, "/health/live").status_code == 200  # a restart would not help
        relay_scrape = probe(stack, "gifting-relay", "/metrics").text
        assert 'coins_outbox_backlog_events{service="gifting"}' in relay_scrape
        assert probe(stack, "payout-worker", "/health/live").status_code == 200
    finally:
        stack.restart_broker()
    for service in ("purchase", "gifting"):  # a broker that lost its log (Tansu) gets the events again
        republish(service, stack.env[f"{service.upper()}_DATABASE_URL"], since)
    wait_until(lambda: earnings(api, creator)["total"] == 500, timeout=120, message="the gifts credited")
    spendable(api, late_buyer, 350, timeout=120)
    for name in ("gifting-relay", "gifting-consumer", "payout-consumer"):
        wait_until(
            lambda n=name: probe(stack, n, "/health/ready").status_code == 200,
            timeout=60,
            message=f"{name} ready again",
        )
    wait_until(lambda: metric(stack, "gifting", "coins_broker_up") == 1.0, timeout=10, message="broker up again")
