"""Every process of every service image exposes its metrics and probes: web workers added up per
container, relays, consumers and the worker on a metrics port each, the numbers moving under load."""

from __future__ import annotations

import uuid

import pytest
import requests

from coins_platform.testing import ROLES
from tests.support.stories import Api, buy, earnings, send_gift, spendable, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.containers


def total(text: str, name: str, **labels) -> float:
    """The sum of a metric's samples that carry these labels, in a Prometheus text scrape."""
    found = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            found += float(line.rsplit(" ", 1)[1])
    return found


def scrape(url: str) -> str:
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


def test_a_web_containers_metrics_add_up_its_gunicorn_workers(coins_platform):
    url, auth = coins_platform.url("gifting"), coins_platform.headers
    before = total(scrape(url), "coins_http_requests_total", route="/v1/gifts/catalog")
    for _ in range(40):  # spread over both workers
        assert requests.get(f"{url}/v1/gifts/catalog", headers=auth(service="gifting"), timeout=10).status_code == 200
    assert total(scrape(url), "coins_http_requests_total", route="/v1/gifts/catalog") == before + 40


def test_relay_consumer_and_worker_containers_serve_metrics_and_probes_that_move(coins_platform):
    platform = coins_platform
    api = Api(platform, platform.headers)
    for name, port in platform.metrics_ports.items():
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/health/live", timeout=5).status_code == 200, name
        wait_until(
            lambda b=base: requests.get(f"{b}/health/ready", timeout=5).status_code == 200,
            timeout=60,
            message=f"{name} ready",
        )
    assert set(platform.metrics_ports) == {f"{s}-{r}" for s, roles in ROLES.items() for r in roles if r != "web"}
    probe = {name: f"http://127.0.0.1:{port}" for name, port in platform.metrics_ports.items()}
    published = {n: total(scrape(probe[f"{n}-relay"]), "coins_outbox_published_total") for n in ("purchase", "gifting")}
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700, timeout=60)
    assert send_gift(api, viewer, creator, "rose", quantity=3).status_code == 201
    wait_until(lambda: earnings(api, creator)["total"] == 3, timeout=60, message="the gift credited")
    for service in ("purchase", "gifting"):
        assert total(scrape(probe[f"{service}-relay"]), "coins_outbox_published_total") > published[service]
        assert f'coins_outbox_backlog_events{{service="{service}"}}' in scrape(probe[f"{service}-relay"])
    consumer = scrape(probe["payout-consumer"])
    assert total(consumer, "coins_consumer_messages_total", topic="gift.sent.v1", outcome="applied") >= 1
    wait_until(
        lambda: 'coins_consumer_lag_messages{group="payout-consumer"' in scrape(probe["payout-consumer"]),
        timeout=60,
        message="the payout consumer's lag gauge",
    )
    assert "coins_consumer_retries_total" in consumer and "coins_consumer_dead_letters_total" in consumer
    assert "python_info" in scrape(probe["payout-worker"])


def test_coinsctl_runs_in_the_images_as_a_role(coins_platform, docker_client):
    image = coins_platform.containers["gifting-web"].get_wrapped_container().image
    output = docker_client.containers.run(
        image,
        ["coinsctl", "prune", "gifting"],
        environment=coins_platform.env,
        network_mode="host",
        remove=True,
        name=f"coinsctl-{uuid.uuid4().hex[:6]}",
    )
    assert b'"service": "gifting"' in output


def test_the_image_healthcheck_fits_each_role(coins_platform):
    for name in coins_platform.metrics_ports:  # relay, consumer, worker: their own liveness, not the web's
        container = coins_platform.containers[name].get_wrapped_container()
        wait_until(
            lambda c=container: (c.reload() or c.attrs["State"].get("Health", {}).get("Status")) == "healthy",
            timeout=90,
            message=f"{name}'s HEALTHCHECK to pass",
        )
