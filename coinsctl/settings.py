"""The ops CLI's own settings, read once from the environment through `shared.env.Env`.

`coinsctl stack` (make run) and `python -m coinsctl.apache_kafka` (the broker's container) read
their variables here; nothing else in coinsctl looks at `os.environ`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.env import Env

STACK_SERVICES = {"purchase": 8001, "gifting": 8002, "payout": 8003}  # and their default ports
STACK_SANDBOXES = {"card": 8004, "payout": 8005}


def process_environ() -> dict[str, str]:
    """The environment the stack hands down to the processes it starts (a copy of this one)."""
    return dict(os.environ)


def ops_kafka_settings(var_dir: Path, environ: Mapping[str, str] | None = None):
    """KafkaSettings for coinsctl's broker commands: the broker the KAFKA_* variables name; with
    none named, `make run`'s own as its admin (the password in <var>/broker/broker.json), so the
    README's lines work on the local stack as written."""
    from shared.kafka.settings import kafka_settings

    env = dict(os.environ if environ is None else environ)
    state = var_dir / "broker" / "broker.json"
    if "KAFKA_BOOTSTRAP_SERVERS" not in env and state.exists():
        from coinsctl.apache_kafka import Credentials

        saved = json.loads(state.read_text())
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{saved['port']}"
        env.update(Credentials(saved["passwords"]).client_env("admin"))
    return kafka_settings(env)


@dataclass(frozen=True)
class StackSettings:
    var_dir: Path
    ports: dict[str, int]
    sandbox_ports: dict[str, int]
    broker_port: int


def stack_settings(environ: Mapping[str, str] | None = None) -> StackSettings:
    """<SERVICE>_PORT, <SANDBOX>_SANDBOX_PORT, COINS_VAR_DIR, COINS_BROKER_PORT."""
    env = Env(environ)
    return StackSettings(
        var_dir=Path(env.str("COINS_VAR_DIR", "var")),
        ports={s: env.int(f"{s.upper()}_PORT", port) for s, port in STACK_SERVICES.items()},
        sandbox_ports={n: env.int(f"{n.upper()}_SANDBOX_PORT", port) for n, port in STACK_SANDBOXES.items()},
        broker_port=env.int("COINS_BROKER_PORT", 9092),
    )


@dataclass(frozen=True)
class BrokerSettings:
    """The Apache Kafka broker run in the foreground, as its container runs it."""

    home: Path
    port: int
    controller_port: int
    heap: str
    users: dict[str, str] | None  # principal -> SCRAM password, used when the log directory is first formatted
    listen_host: str  # 0.0.0.0 in a compose network
    advertised_host: str  # the service's name in a compose network


def broker_settings(environ: Mapping[str, str] | None = None) -> BrokerSettings:
    """KAFKA_HOME, KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_HEAP, KAFKA_USERS (a JSON object),
    KAFKA_LISTEN_HOST and KAFKA_ADVERTISED_HOST."""
    env = Env(environ)
    return BrokerSettings(
        home=Path(env.str("KAFKA_HOME", "/var/lib/kafka")),
        port=env.int("KAFKA_PORT", 9092),
        controller_port=env.int("KAFKA_CONTROLLER_PORT", 9093),
        heap=env.str("KAFKA_HEAP", "512m"),
        users=env.json("KAFKA_USERS", None),
        listen_host=env.str("KAFKA_LISTEN_HOST", "127.0.0.1"),
        advertised_host=env.str("KAFKA_ADVERTISED_HOST", "127.0.0.1"),
    )


def kafka_jars(environ: Mapping[str, str] | None = None) -> str | None:
    """COINS_KAFKA_JARS: a directory of the broker's jars, instead of fetching them with Maven."""
    return Env(environ).optional("COINS_KAFKA_JARS")


def connect_jars(environ: Mapping[str, str] | None = None) -> str | None:
    """COINS_CONNECT_JARS: a directory of Kafka Connect's and Debezium's jars, instead of fetching them."""
    return Env(environ).optional("COINS_CONNECT_JARS")


@dataclass(frozen=True)
class ConnectSettings:
    """A Kafka Connect worker run in the foreground, as its container runs it (coinsctl.connect_worker)."""

    home: Path  # only the worker's properties: its state is in Kafka
    bootstrap: str
    sasl: dict[str, str] | None  # protocol, mechanism, username, password (the `connect` principal)
    rest_host: str
    rest_port: int
    topic_prefix: str
    heap: str


def connect_settings(environ: Mapping[str, str] | None = None) -> ConnectSettings:
    """KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD, KAFKA_TOPIC_PREFIX, CONNECT_REST_HOST, CONNECT_REST_PORT, CONNECT_HEAP,
    COINS_VAR_DIR."""
    env = Env(environ)
    user = env.optional("KAFKA_SASL_USERNAME")
    sasl = None
    if user:
        sasl = {
            "protocol": env.str("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            "mechanism": env.str("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            "username": user,
            "password": env.str("KAFKA_SASL_PASSWORD", ""),
        }
    return ConnectSettings(
        home=Path(env.str("COINS_VAR_DIR", "/var/lib/connect")),
        bootstrap=env.str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        sasl=sasl,
        rest_host=env.str("CONNECT_REST_HOST", "127.0.0.1"),
        rest_port=env.int("CONNECT_REST_PORT", 8083),
        topic_prefix=env.str("KAFKA_TOPIC_PREFIX", ""),
        heap=env.str("CONNECT_HEAP", "512m"),
    )


@dataclass(frozen=True)
class JavaSettings:
    """How coinsctl.jvm runs `java`: COINS_JAVA (host, docker or auto), and the images it runs it in,
    named as coins_platform.testing.Images names them (COINS_PLATFORM_IMAGE_PREFIX, _IMAGE_TAG,
    COINS_PLATFORM_KAFKA_IMAGE, COINS_PLATFORM_CONNECT_IMAGE)."""

    java: str
    images: dict[str, str]  # kind ("kafka", "connect") -> image


def java_settings(environ: Mapping[str, str] | None = None) -> JavaSettings:
    env = Env(environ)
    prefix, tag = env.str("COINS_PLATFORM_IMAGE_PREFIX", "coins"), env.str("COINS_PLATFORM_IMAGE_TAG", "latest")
    return JavaSettings(
        java=env.str("COINS_JAVA", "auto"),
        images={
            kind: env.optional(f"COINS_PLATFORM_{kind.upper()}_IMAGE") or f"{prefix}-{kind}:{tag}"
            for kind in ("kafka", "connect")
        },
    )
