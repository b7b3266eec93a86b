"""The whole platform as real processes (gunicorn, relays, consumers, payout worker), once on
PostgreSQL and once on SQLite files as `make run` has it, with the session's broker (Apache Kafka:
each service connects as its own principal, held to its ACLs)."""

from __future__ import annotations

import os
import uuid

import pytest

from coinsctl.stack import SANDBOXES, SERVICES, Stack
from tests.support.broker import free_port
from tests.support.stories import Api


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def stack(request, tmp_path_factory):
    backend = request.param
    broker = request.getfixturevalue("broker")
    var_dir = tmp_path_factory.mktemp(f"stack-{backend}")
    env = {
        **os.environ,
        "KAFKA_TOPIC_PREFIX": f"e2e{uuid.uuid4().hex[:6]}.",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_PARTITIONS": "3",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "8",
        "LOG_LEVEL": "INFO",
    }
    created = []
    if backend == "postgres":
        postgres = request.getfixturevalue("postgres")
        for service in SERVICES:
            created.append(postgres.create_database(f"e2e_{service}"))
            env[f"{service.upper()}_DATABASE_URL"] = created[-1]
    else:
        for service in SERVICES:
            env.pop(f"{service.upper()}_DATABASE_URL", None)
    running = Stack(
        var_dir=var_dir,
        ports={s: free_port() for s in SERVICES},
        env=env,
        broker=broker,
        restart=False,
        sandbox_ports={n: free_port() for n in SANDBOXES},
    )
    try:
        running.start()
        running.wait_ready(timeout_s=90)
        yield running
    finally:
        running.stop()
        for url in created:
            request.getfixturevalue("postgres").drop_database(url)


@pytest.fixture
def api(stack, auth):
    return Api(stack, auth)
