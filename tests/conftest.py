"""Fixtures every layer of tests shares: the callers' key pairs and tokens per caller and service."""

from __future__ import annotations

import atexit
import os

import pytest

from coins_platform.testing.keys import CallerKeys
from tests.support.keys import session_keys

# Made at import, before any test reads its settings: every service the tests start (in process
# or as child processes, which inherit the environment) verifies with these public keys.
CALLER_KEYS = session_keys()
atexit.register(CALLER_KEYS.remove)
os.environ["COINS_AUTH_KEYS_DIR"] = str(CALLER_KEYS.public_dir)
os.environ.setdefault("COINS_ENV", "test")


@pytest.fixture(scope="session")
def caller_keys() -> CallerKeys:
    return CALLER_KEYS


@pytest.fixture(scope="session")
def auth(caller_keys):
    """auth("gateway", service="gifting", **headers) -> headers with a bearer token for that caller."""
    return caller_keys.headers


@pytest.fixture(scope="session")
def auth_for(caller_keys):
    """auth_for("gifting") -> auth("gateway", **headers) for that one service."""

    def for_service(service: str):
        def headers(caller: str = "gateway", **extra) -> dict:
            return caller_keys.headers(caller, service=service, **extra)

        return headers

    return for_service


# -- PostgreSQL and the broker, for integration and end-to-end tests ------------------------------
@pytest.fixture(scope="session")
def test_infra() -> str:
    """ "host" or "containers": where PostgreSQL and Kafka come from (tests.support.infra, COINS_TEST_INFRA)."""
    from tests.support.infra import choose

    chosen = choose()
    if chosen == "containers":  # the brokers and Connect workers tests start run in their images too
        os.environ.setdefault("COINS_JAVA", "docker")
    return chosen


@pytest.fixture(scope="session")
def postgres(test_infra):
    """The run's PostgreSQL (`ADMIN_URL`, `create_database`, `drop_database`): the machine's, or one container."""
    from tests.support import postgres as pg

    try:
        cluster = pg.container_cluster() if test_infra == "containers" else pg.host_cluster()
    except RuntimeError as exc:  # a failure, not a skip: a missing database once hid every PostgreSQL test in CI
        pytest.fail(str(exc))
    yield cluster
    cluster.stop()


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
def broker(request):
    """The session's broker: Apache Kafka here or in a container (or the one KAFKA_BOOTSTRAP_SERVERS names)."""
    from tests.support.broker import session_broker

    started = session_broker(request.getfixturevalue("test_infra"))
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

    from shared.kafka.admin import TopicPolicy, ensure_topics

    settings = dataclasses.replace(
        broker.settings("admin", topic_prefix=f"t{uuid.uuid4().hex[:8]}."), session_timeout_ms=6000, batch_size=200
    )
    ensure_topics(settings, TopicPolicy(partitions=3))
    return settings
