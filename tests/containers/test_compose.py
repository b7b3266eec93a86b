"""The platform as ops run it on one host: `docker compose` (v2) with deploy/compose.yaml and the
host-network override (these machines' Docker has no bridge). Apache Kafka, one PostgreSQL per
service, migrations, topics with ACLs, the sandboxes and every process come up healthy; money
flows from a purchase to a creator's diamonds; each process's metrics move; the broker stopped for
a minute leaves every web container ready and taking gifts, its outbox holding them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time

import pytest
import requests

from tests.containers.conftest import KAFKA_IMAGE, POSTGRES_IMAGE, ROOT, TAG
from tests.containers.test_telemetry import scrape, total
from tests.support.broker import free_port
from tests.support.stories import Api, buy, earnings, send_gift, spendable, unique, wallet
from tests.support.waiting import wait_until

pytestmark = pytest.mark.containers

WEB_PORTS = {"purchase": "PURCHASE_PORT", "gifting": "GIFTING_PORT", "payout": "PAYOUT_PORT"}
METRICS_PORTS = {  # compose service -> the variable deploy/compose.host.yaml reads its port from
    "purchase-relay": "PURCHASE_RELAY_METRICS_PORT",
    "purchase-reconciler": "PURCHASE_RECONCILER_METRICS_PORT",
    "gifting-relay": "GIFTING_RELAY_METRICS_PORT",
    "gifting-consumer": "GIFTING_CONSUMER_METRICS_PORT",
    "payout-relay": "PAYOUT_RELAY_METRICS_PORT",
    "payout-consumer": "PAYOUT_CONSUMER_METRICS_PORT",
    "payout-worker": "PAYOUT_WORKER_METRICS_PORT",
}
OTHER_PORTS = ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "PURCHASE_DB_PORT", "GIFTING_DB_PORT", "PAYOUT_DB_PORT")
SANDBOX_PORTS = ("CARD_SANDBOX_PORT", "PAYOUT_SANDBOX_PORT")


class ComposeStack:
    def __init__(self, caller_keys):
        self.project = f"coins-compose-{os.getpid()}"
        ports = [*WEB_PORTS.values(), *METRICS_PORTS.values(), *OTHER_PORTS, *SANDBOX_PORTS]
        self.env = {name: str(free_port()) for name in ports}
        # What deploy/compose-secrets.sh writes to deploy/.env, here for this stack only.
        self.env.update(
            {f"KAFKA_{who}_PASSWORD": secrets.token_hex(16) for who in ("ADMIN", "PURCHASE", "GIFTING", "PAYOUT")}
        )
        for service in WEB_PORTS:
            self.env[f"{service.upper()}_DB_PASSWORD"] = secrets.token_hex(16)
            self.env[f"{service.upper()}_DB_ADMIN_PASSWORD"] = secrets.token_hex(16)
        self.env.update(
            COINS_CALLER_KEYS_DIR=str(caller_keys.public_dir),
            POSTGRES_IMAGE=POSTGRES_IMAGE,
            KAFKA_IMAGE=KAFKA_IMAGE,  # the broker image under test, as the services' (TAG)
            TAG=TAG,
            GUNICORN_WORKERS="2",
            GUNICORN_THREADS="4",
        )

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        files = ("-f", str(ROOT / "deploy" / "compose.yaml"), "-f", str(ROOT / "deploy" / "compose.host.yaml"))
        return subprocess.run(
            ["docker", "compose", "-p", self.project, *files, *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.env[WEB_PORTS[service]]}"

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[METRICS_PORTS[name]]}"


@pytest.fixture(scope="module")
def stack(docker_client, caller_keys):
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    assert version.returncode == 0, f"Compose v2 is missing: run deploy/ensure-compose.sh ({version.stderr})"
    running = ComposeStack(caller_keys)
    try:
        up = running.compose("up", "--detach", "--wait", "--wait-timeout", "480", timeout=600)  # minutes under load
        assert up.returncode == 0, up.stderr[-3000:] + running.compose("logs", "--tail", "30").stdout[-6000:]
        yield running
    finally:
        running.compose("down", "--volumes", "--timeout", "10")


def test_compose_brings_every_process_up_healthy(stack):
    listed = stack.compose("ps", "--all", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    containers = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    state = {c["Service"]: (c["State"], c.get("Health", ""), c.get("ExitCode")) for c in containers}
    one_shot = {"topics", "purchase-migrate", "gifting-migrate", "payout-migrate"}
    for service, (status, health, exit_code) in state.items():
        if service in one_shot:
            assert (status, exit_code) == ("exited", 0), (service, status, exit_code)
        else:
            assert (status, health) == ("running", "healthy"), (service, status, health)
    assert set(METRICS_PORTS) | {f"{s}-web" for s in WEB_PORTS} <= set(state)


def test_money_flows_through_the_compose_stack_and_every_process_counts_it(stack, auth):
    api = Api(stack, auth)
    relays = {s: total(scrape(stack.metrics_url(f"{s}-relay")), "coins_outbox_published_total") for s in WEB_PORTS}
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700, timeout=90)
    assert send_gift(api, viewer, creator, "rose", quantity=2).status_code == 201
    wait_until(lambda: earnings(api, creator)["total"] == 2, timeout=90, message="the gift credited in payout")
    for service in ("purchase", "gifting"):
        assert total(scrape(stack.metrics_url(f"{service}-relay")), "coins_outbox_published_total") > relays[service]
        web = scrape(stack.url(service))
        assert total(web, "coins_http_requests_total") > 0, service
    bought = scrape(stack.metrics_url("purchase-relay"))
    assert total(bought, "coins_event_coins_total", type="purchase.completed") >= 700
    assert total(scrape(stack.metrics_url("gifting-relay")), "coins_event_diamonds_total", type="gift.sent") >= 1
    for consumer, topic in (("gifting-consumer", "purchase.completed.v1"), ("payout-consumer", "gift.sent.v1")):
        applied = total(scrape(stack.metrics_url(consumer)), "coins_consumer_messages_total", topic=topic)
        assert applied >= 1, (consumer, topic)
    for name in ("purchase-reconciler", "payout-worker"):
        assert requests.get(f"{stack.metrics_url(name)}/health/ready", timeout=5).status_code == 200, name


def test_web_containers_stay_ready_and_take_gifts_while_the_broker_is_stopped_for_a_minute(stack, auth):
    api = Api(stack, auth)
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700, timeout=90)
    stopped = stack.compose("stop", "kafka", timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    sent = 0
    try:
        away_until = time.monotonic() + 60
        while time.monotonic() < away_until:  # the outbox absorbs the outage: HTTP keeps taking money
            assert send_gift(api, viewer, creator, "rose").status_code == 201
            sent += 1
            for service in WEB_PORTS:
                ready = requests.get(f"{stack.url(service)}/health/ready", timeout=10)
                assert ready.status_code == 200, (service, ready.text)
            time.sleep(1)
        ready = requests.get(f"{stack.url('gifting')}/health/ready", timeout=10).json()
        assert ready["checks"]["broker"] != "ok" and "broker" in ready["degraded"], ready  # says so, still ready
        assert total(scrape(stack.url("gifting")), "coins_broker_up") == 0
        assert total(scrape(stack.url("gifting")), "coins_outbox_backlog_events") >= 1
    finally:
        started = stack.compose("start", "kafka", timeout=120)
        assert started.returncode == 0, started.stderr
    wait_until(lambda: earnings(api, creator)["total"] == sent, timeout=180, message="the backlog drained")
    assert wallet(api, viewer)["balance"] == 700 - sent


def test_the_documented_coinsctl_command_runs_in_a_compose_container(stack):
    """As the README prints it: `docker compose exec payout-web coinsctl payouts held --json`."""
    done = stack.compose("exec", "-T", "payout-web", "coinsctl", "payouts", "held", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
