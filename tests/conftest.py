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
def broker():
    """The session's broker: Apache Kafka (or COINS_TEST_BROKER=tansu, or KAFKA_BOOTSTRAP_SERVERS)."""
    from tests.support.broker import session_broker
    started = session_broker()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(broker) -> str:
    return broker.bootstrap


@pytest.fixture
def kafka(broker):
    """Admin KafkaSettings with topics of this test's own (a fresh prefix), so tests never see each other's messages."""
    import dataclasses
    import uuid

    from shared.kafka_admin import TopicPolicy, ensure_topics
    settings = dataclasses.replace(broker.settings("admin", topic_prefix=f"t{uuid.uuid4().hex[:8]}."),
                                   session_timeout_ms=6000, batch_size=200)
    ensure_topics(settings, TopicPolicy(partitions=3))
    return settings
