"""The broker for a test session: Apache Kafka of its own, or an existing one named by
KAFKA_BOOTSTRAP_SERVERS (tests then use fresh topic prefixes)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coinsctl.apache_kafka import ApacheKafka
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


def session_broker():
    """Started and ready: the external broker, or a new Apache Kafka."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return ExternalBroker()
    broker = ApacheKafka(Path(tempfile.mkdtemp(prefix="coins-kafka-")))
    broker.start()
    return broker
