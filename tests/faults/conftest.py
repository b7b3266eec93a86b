"""The fault suite's stack: real processes on PostgreSQL with a broker of its own (so it can be
paused and restarted), short idempotency leases,
and the auditor run after every case."""

from __future__ import annotations

import os
import re
import signal
import uuid

import pytest

from coinsctl.stack import SANDBOXES, SERVICES, Stack
from tests.support.broker import free_port
from tests.support.stories import Api, audit_passes
from tests.support.waiting import wait_until

# Shortened request read deadlines (shared.http.gunicorn_worker), for the slowloris case.
HEADER_TIMEOUT_S, BODY_TIMEOUT_S = 4, 6


@pytest.fixture(scope="session")
def stack(postgres, tmp_path_factory, caller_keys):
    var_dir = tmp_path_factory.mktemp("faults")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update(
        {
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "KAFKA_PARTITIONS": "3",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "8",
            "GUNICORN_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "GUNICORN_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "IDEMPOTENCY_LEASE_SECONDS": "3",
            # A poll may block while the broker is away (a minute in one case): the watchdog
            # (a stuck consumer exits) waits longer than that.
            "KAFKA_CONSUMER_WATCHDOG_SECONDS": "120",
            "KAFKA_BATCH_SIZE": "50",
            # Processors answer within 2.1 s (two 1 s attempts), under the 3 s leases; the
            # reconciler settles a purchase pending 4 s; a withdrawal is sent twice, then failed.
            "PURCHASE_PROCESSOR_TIMEOUT_MS": "1000",
            "PAYOUT_PROCESSOR_TIMEOUT_MS": "1000",
            "PURCHASE_RECONCILE_AFTER_SECONDS": "4",
            "PURCHASE_RECONCILE_EVERY_MS": "500",
            "PAYOUT_WORKER_LEASE_SECONDS": "3",
            "PAYOUT_MAX_ATTEMPTS": "2",
            "SANDBOX_SLOW_MS": "700",
            "SANDBOX_HANG_MS": "5000",
            "SANDBOX_LATER_MS": "1000",
        }
    )
    urls = []
    for service in SERVICES:
        urls.append(postgres.create_database(f"faults_{service}"))
        env[f"{service.upper()}_DATABASE_URL"] = urls[-1]
    background = (
        "purchase-relay",
        "gifting-relay",
        "gifting-consumer",
        "payout-relay",
        "payout-consumer",
        "payout-worker",
    )
    running = Stack(
        var_dir=var_dir,
        ports={s: free_port() for s in SERVICES},
        env=env,
        broker_port=free_port(),
        restart=False,
        sandbox_ports={n: free_port() for n in SANDBOXES},
        probe_ports={n: free_port() for n in background},
    )
    try:
        running.start()
        running.wait_ready(timeout_s=90)
        _warm_up(running, caller_keys.headers)
        yield running
    finally:
        running.stop()
        for url in urls:
            postgres.drop_database(url)


def _warm_up(stack, auth) -> None:
    """One purchase and one gift applied end to end: both consumer groups have joined and are
    stable before the first fault (a member restarted while its group's first join is still in
    progress can leave some brokers' coordinators stuck)."""
    from tests.support.stories import buy, earnings, send_gift, spendable, unique

    api = Api(stack, auth)
    viewer, creator = unique("warmup"), unique("warmup-creator")
    buy(api, viewer, package_id="coins_70")
    spendable(api, viewer, 70, timeout=90)
    assert send_gift(api, viewer, creator, "rose").status_code == 201
    wait_until(lambda: earnings(api, creator)["total"] == 1, timeout=90, message="the warm-up gift credited")


@pytest.fixture
def api(stack, auth):
    return Api(stack, auth)


@pytest.fixture(autouse=True)
def audited(stack, caller_keys):
    """After every case: the standard processes run again, and the auditor passes."""
    yield
    for name in list(stack.procs):
        if name not in stack.specs or name.endswith("-2"):
            stack.stop_process(name)
    for name in (
        "card-sandbox",
        "payout-sandbox",
        "purchase-web",
        "purchase-relay",
        "purchase-reconciler",
        "gifting-web",
        "gifting-relay",
        "gifting-consumer",
        "payout-web",
        "payout-relay",
        "payout-consumer",
        "payout-worker",
    ):
        proc = stack.procs.get(name)
        if proc is None or proc.poll() is not None:
            stack.restart_process(name)
    stack.wait_ready()
    audit_passes(stack, caller_keys, wait_s=90)


@pytest.fixture
def faults(stack, tmp_path):
    """faults.arm(process, "point[=action]") restarts the process with the fault armed (it fires once);
    faults.crashed(process) waits until the fault killed it; faults.heal(process) restarts it clean."""

    class Faults:
        def arm(self, name: str, spec: str) -> None:
            stack.restart_process(name, {"COINS_FAULTS": spec, "COINS_FAULTS_STATE_DIR": str(tmp_path)})

        def fired(self, point: str) -> bool:
            return (tmp_path / f"fault-{point}.fired").exists()

        def crashed(self, name: str, timeout: float = 60) -> None:
            wait_until(
                lambda: stack.procs[name].poll() == -signal.SIGKILL,
                timeout=timeout,
                message=f"{name} to be killed by its fault",
            )

        def heal(self, name: str) -> None:
            stack.restart_process(name)

    return Faults()


def metric(stack, service: str, name: str, **labels) -> float:
    """The sum of a metric's samples with these labels, from the service's /metrics."""
    import requests

    text = requests.get(f"{stack.url(service)}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def key() -> str:
    return str(uuid.uuid4())
