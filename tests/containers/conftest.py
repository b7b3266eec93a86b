"""The platform as containers (testcontainers): a broker, one PostgreSQL per service, and the
three service images running web, relay, consumer and worker, all with host networking.

The broker is Apache Kafka from the project's own image (coins-kafka: SCRAM principals, each
service held to its ACLs). Image names come from the environment: COINS_TEST_KAFKA_IMAGE (built
from deploy/images/kafka.Dockerfile), COINS_TEST_POSTGRES_IMAGE (e.g. postgres:16, where a
registry is reachable), COINS_TEST_IMAGE_PREFIX / COINS_TEST_IMAGE_TAG for the service images.
Fixtures wait on health endpoints, connections and exit codes, never on fixed sleeps.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # the reaper image cannot be pulled here

from tests.support.broker import free_port  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

SERVICES = ("purchase", "gifting", "payout")
ROLES = {
    "purchase": ("web", "relay", "reconciler"),
    "gifting": ("web", "relay", "consumer"),
    "payout": ("web", "relay", "consumer", "worker"),
}
ROOT = Path(__file__).resolve().parents[2]
PREFIX = os.environ.get("COINS_TEST_IMAGE_PREFIX", "coins")
TAG = os.environ.get("COINS_TEST_IMAGE_TAG", "latest")
KAFKA_IMAGE = os.environ.get("COINS_TEST_KAFKA_IMAGE", f"{PREFIX}-kafka:{TAG}")
POSTGRES_IMAGE = os.environ.get("COINS_TEST_POSTGRES_IMAGE", f"{PREFIX}-postgres:15")


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - reported as the skip reason
        pytest.skip(f"no Docker engine answers ({exc}); `make test` starts one when it runs as root")
    images = [f"{PREFIX}-{s}:{TAG}" for s in (*SERVICES, "sandbox")] + [KAFKA_IMAGE, POSTGRES_IMAGE]
    missing = [i for i in images if not client.images.list(name=i)]
    if missing and not os.environ.get("COINS_TEST_KAFKA_IMAGE"):
        subprocess.run(["bash", str(ROOT / "deploy" / "build-images.sh")], check=True, cwd=ROOT)
    return client


class Platform:
    """Started containers, and where each web app listens."""

    def __init__(self):
        self.containers: dict[str, object] = {}
        self.ports: dict[str, int] = {}
        self.metrics_ports: dict[str, int] = {}  # "<service>-<role>" -> /metrics and probes port
        self.env: dict[str, str] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, name: str, image: str, *, command=None, env=None, volumes=()):
        from testcontainers.core.container import DockerContainer

        container = (
            DockerContainer(image).with_name(f"coins-test-{name}-{os.getpid()}").with_kwargs(network_mode="host")
        )
        for host_path, container_path in volumes:
            container = container.with_volume_mapping(host_path, container_path, "ro")
        for key, value in (env or {}).items():
            container = container.with_env(key, value)
        if command:
            container = container.with_command(command)
        self.containers[name] = container.start()
        return self.containers[name]

    def stop(self) -> None:
        for container in reversed(list(self.containers.values())):
            try:
                container.stop()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


def _kafka_env(port: int, creds) -> dict:
    """The broker image's settings (deploy/images/kafka.Dockerfile): its ports and SCRAM users."""
    import json

    return {
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_USERS": json.dumps(creds.passwords),
    }


@pytest.fixture(scope="module")
def platform(docker_client, caller_keys):
    import psycopg

    from coinsctl.apache_kafka import Credentials
    from coinsctl.kafka_acls import apply_acls, platform_acls
    from shared.kafka.admin import TopicPolicy, ensure_topics
    from shared.kafka.settings import kafka_settings

    running = Platform()
    creds = Credentials()
    try:
        kafka_port = free_port()
        broker = running.start("broker", KAFKA_IMAGE, env=_kafka_env(kafka_port, creds))
        bootstrap = f"127.0.0.1:{kafka_port}"
        wait_until(
            lambda: b"Kafka Server started" in broker.get_wrapped_container().logs(),
            timeout=120,
            message="the Apache Kafka container to start",
        )
        running.kafka_version = broker.get_wrapped_container().logs().decode().split("Kafka version: ")[1].split()[0]
        admin = kafka_settings({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, **creds.client_env("admin")})
        ensure_topics(admin, TopicPolicy(partitions=3), timeout_s=120)
        apply_acls(admin, platform_acls())
        running.admin, running.creds = admin, creds
        # The web containers verify with the callers' public keys only, mounted as k8s mounts its Secret.
        keys = [(str(caller_keys.public_dir), "/etc/coins/caller-keys")]
        env = {
            "COINS_ENV": "staging",  # production's checks, the sandboxes and SASL without TLS allowed
            "COINS_AUTH_KEYS_DIR": "/etc/coins/caller-keys",
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "GUNICORN_WORKERS": "2",
        }
        for sandbox, service in (("card", "purchase"), ("payout", "payout")):  # the processors' containers
            port = free_port()
            running.start(f"{sandbox}-sandbox", f"{PREFIX}-sandbox:{TAG}", command=[sandbox], env={"PORT": str(port)})
            env[f"{service.upper()}_PROCESSOR_URL"] = f"http://127.0.0.1:{port}"
            env[f"{service.upper()}_PROCESSOR"] = "sandbox"  # named, as staging and production want
        for service in SERVICES:
            pg_port = free_port()
            running.start(
                f"{service}-db",
                POSTGRES_IMAGE,
                command=["postgres", "-p", str(pg_port)],
                env={"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_PASSWORD": "unused"},
            )
            url = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"

            def pg_up(url=url):
                try:
                    with psycopg.connect(url, connect_timeout=2):
                        return True
                except psycopg.OperationalError:
                    return False

            wait_until(pg_up, timeout=120, message=f"{service}'s PostgreSQL container")
            env[f"{service.upper()}_DATABASE_URL"] = url
        for service in SERVICES:
            migrate = running.start(f"{service}-migrate", f"{PREFIX}-{service}:{TAG}", command=["migrate"], env=env)
            result = migrate.get_wrapped_container().wait(timeout=120)
            assert result["StatusCode"] == 0, migrate.get_wrapped_container().logs().decode()[-2000:]
        for service in SERVICES:
            running.ports[service] = free_port()
            for role in ROLES[service]:
                extra = {"PORT": str(running.ports[service])}
                if role != "web":  # host networking: each background container's metrics port its own
                    running.metrics_ports[f"{service}-{role}"] = free_port()
                    extra["METRICS_PORT"] = str(running.metrics_ports[f"{service}-{role}"])
                extra.update(creds.client_env(service))  # each service its own principal, held to its ACLs
                running.start(
                    f"{service}-{role}",
                    f"{PREFIX}-{service}:{TAG}",
                    command=[role],
                    env={**env, **extra},
                    volumes=keys if role == "web" else (),
                )
        import requests

        def ready(service: str) -> bool:
            try:
                return requests.get(f"{running.url(service)}/health/ready", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        for service in SERVICES:
            wait_until(lambda s=service: ready(s), timeout=120, message=f"{service} web container ready")
        running.env = env
        yield running
    finally:
        running.stop()
