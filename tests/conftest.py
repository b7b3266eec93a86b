"""Fixtures every layer of tests shares: the token secret and tokens per caller."""
from __future__ import annotations

import os

import pytest

TEST_SECRET = "test-secret-" + "x" * 40
os.environ.setdefault("COINS_AUTH_SECRET", TEST_SECRET)


@pytest.fixture(scope="session")
def secret() -> str:
    return os.environ["COINS_AUTH_SECRET"]


@pytest.fixture(scope="session")
def auth(secret):
    """auth("gateway") -> headers with a bearer token for that caller."""
    from shared.auth import issue_token

    def headers(caller: str = "gateway", **extra) -> dict:
        return {"Authorization": f"Bearer {issue_token(caller=caller, secret=secret)}", **extra}
    return headers


# -- PostgreSQL and the broker, for integration and end-to-end tests ------------------------------
@pytest.fixture(scope="session")
def postgres():
    from tests.support import postgres as pg
    problem = pg.ensure_running()
    if problem:
        pytest.skip(problem)
    return pg


@pytest.fixture
def pg_url(postgres):
    """A fresh PostgreSQL database, dropped afterwards: pg_url("gifting") -> URL."""
    created = []

    def make(prefix: str = "db") -> str:
        created.append(postgres.create_database(prefix))
        return created[-1]
    yield make
    for url in created:
        postgres.drop_database(url)


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """The broker in KAFKA_BOOTSTRAP_SERVERS, or one spawned for this session."""
    from tests.support.broker import SpawnedBroker
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None if external else SpawnedBroker()
    yield external or broker.bootstrap
    if broker is not None:
        broker.stop()


@pytest.fixture
def kafka(kafka_bootstrap):
    """KafkaSettings with topics of this test's own (a fresh prefix), so tests never see each other's messages."""
    import uuid

    from shared.kafka import ensure_topics
    from shared.settings import KafkaSettings
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
                             session_timeout_ms=6000, batch_size=200)
    ensure_topics(settings, partitions=3)
    return settings
