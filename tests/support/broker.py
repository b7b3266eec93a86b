"""The broker for a test session: Apache Kafka of its own (from its jars on this machine's JVM, or
in a container: tests.support.infra), or an existing one named by KAFKA_BOOTSTRAP_SERVERS (tests
then use fresh topic prefixes)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from coinsctl.apache_kafka import ApacheKafka, Credentials
from coinsctl.broker import free_port  # noqa: F401 - free_port is re-exported for tests
from shared.kafka.settings import kafka_settings


class ExternalBroker:
    """A broker this session did not start: reached with the KAFKA_* variables as they are."""

    kind = "external"
    secured = False

    def __init__(self, environ=os.environ):
        self._env = {k: v for k, v in environ.items() if k.startswith("KAFKA_")}
        self.bootstrap = self._env["KAFKA_BOOTSTRAP_SERVERS"]

    def client_env(self, user: str) -> dict[str, str]:
        return dict(self._env)

    def settings(self, user: str = "admin", topic_prefix: str = ""):
        return kafka_settings({**self._env, "KAFKA_TOPIC_PREFIX": topic_prefix})

    def stop(self, **_) -> None:
        pass


class ContainerKafka:
    """Apache Kafka in a container (the image deploy/build-images.sh builds: the same jars, SCRAM
    principals and ACL authorizer as ApacheKafka) on a free loopback port; stopped with the session."""

    kind = "apache"
    secured = True

    def __init__(self):
        from tests.support.infra import logs, start_container

        self.creds = Credentials()
        self.port = free_port()
        env = {
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_USERS": json.dumps(self.creds.passwords),
        }
        # the broker logs this once it serves clients (after the controller and its metadata)
        ready = lambda container: "Kafka Server started" in logs(container)  # noqa: E731
        self._container = start_container("kafka", command=None, env=env, ready=ready)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client_env(self, user: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, **self.creds.client_env(user)}

    def settings(self, user: str = "admin", topic_prefix: str = ""):
        return kafka_settings({**self.client_env(user), "KAFKA_TOPIC_PREFIX": topic_prefix})

    def stop(self, **_) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None


def session_broker(infra: str = "host"):
    """Started and ready: the external broker, or a new Apache Kafka (`infra`: "host" or "containers")."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return ExternalBroker()
    if infra == "containers":
        return ContainerKafka()
    broker = ApacheKafka(Path(tempfile.mkdtemp(prefix="coins-kafka-")))
    broker.start()
    return broker
