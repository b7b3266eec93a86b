"""A Kafka Connect worker (distributed mode) run from its jars, and its REST API: the CDC path's
runtime (coinsctl.cdc). What the tests start; its image runs `python -m coinsctl.connect_worker`.
Imports nothing beyond the standard library, coinsctl.broker, coinsctl.jvm and coinsctl.settings
(with shared.env): its image has no other package.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from coinsctl.broker import free_port, port_open
from coinsctl.jvm import Jars, Java
from coinsctl.settings import connect_jars, connect_settings

REPO = Path(__file__).resolve().parent.parent
CONNECT_DIR = REPO / "deploy" / "connect"


def classpath() -> str:
    """Connect's and Debezium's jars (COINS_CONNECT_JARS, or fetched with Maven once, then cached)."""
    jars = (
        connect_jars()
        or subprocess.run(
            [str(CONNECT_DIR / "fetch-jars.sh")], check=True, capture_output=True, text=True, timeout=900
        ).stdout.strip()
    )
    return f"{jars}/*"


JARS = Jars(host_classpath=classpath, image="connect", image_dir="/opt/connect/libs")


def worker_properties(
    *, bootstrap: str, sasl: dict[str, str] | None, rest_host: str, rest_port: int, topic_prefix: str = ""
) -> str:
    """A distributed worker: its group and internal topics under the topic prefix, strings as they
    are (keys, values and headers: the outbox's bytes reach Kafka unchanged)."""
    lines = [
        f"bootstrap.servers={bootstrap}",
        f"group.id={topic_prefix}connect-cluster",
        f"config.storage.topic={topic_prefix}connect-configs",
        f"offset.storage.topic={topic_prefix}connect-offsets",
        f"status.storage.topic={topic_prefix}connect-status",
        "config.storage.replication.factor=1",
        "offset.storage.replication.factor=1",
        "status.storage.replication.factor=1",
        "key.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=org.apache.kafka.connect.storage.StringConverter",
        "header.converter=org.apache.kafka.connect.storage.SimpleHeaderConverter",
        # Debezium confirms the slot's LSN when Connect commits offsets: every second.
        "offset.flush.interval.ms=1000",
        # The source tasks' producers as the relay's (shared.kafka.clients.make_producer): no
        # producer ids, which a broker that lost its data hands out again, one request in flight.
        "producer.enable.idempotence=false",
        "producer.max.in.flight.requests.per.connection=1",
        f"listeners=http://{rest_host}:{rest_port}",
        "plugin.discovery=only_scan",
    ]
    if sasl:
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{sasl["username"]}" password="{sasl["password"]}";'
        )
        for prefix in ("", "producer.", "consumer.", "admin."):
            lines += [
                f"{prefix}security.protocol={sasl['protocol']}",
                f"{prefix}sasl.mechanism={sasl['mechanism']}",
                f"{prefix}sasl.jaas.config={jaas}",
            ]
    return "\n".join(lines) + "\n"


class ConnectRest:
    """Kafka Connect's REST API; every call bounded."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url, self.timeout_s = url.rstrip("/"), timeout_s

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - an operator's URL
            text = response.read()
        return json.loads(text) if text else None

    def put_connector(self, name: str, config: dict) -> None:
        self.call("PUT", f"/connectors/{name}/config", config)

    def status(self, name: str) -> dict | None:
        try:
            return self.call("GET", f"/connectors/{name}/status")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def running(self, name: str) -> bool:
        status = self.status(name)
        return bool(
            status
            and status["connector"]["state"] == "RUNNING"
            and status["tasks"]
            and all(t["state"] == "RUNNING" for t in status["tasks"])
        )

    def delete_connector(self, name: str, timeout_s: float = 60.0) -> None:
        try:
            self.call("DELETE", f"/connectors/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        wait(lambda: self.status(name) is None, timeout_s, f"connector {name} still there")


class ConnectWorker:
    """One Kafka Connect worker (distributed mode) run from the jars: what the tests start; compose
    and Kubernetes run the same command (deploy/compose.cdc.yaml, deploy/k8s/components/cdc). Its
    JVM is this machine's or, where there is none, its image's (coinsctl.jvm)."""

    def __init__(self, home: Path, properties: str, rest_port: int, heap: str = "384m"):
        self.home, self.rest_port, self.heap = home, rest_port, heap
        self.home.mkdir(parents=True, exist_ok=True)
        self.props = self.home / "connect-distributed.properties"
        fd = os.open(self.props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds a password
        with os.fdopen(fd, "w") as out:
            out.write(properties)
        self.log_path = self.home / "connect.log"
        self.java = Java(JARS, self.home)
        self.rest = ConnectRest(f"http://127.0.0.1:{rest_port}")

    @classmethod
    def on_broker(cls, home: Path, broker, topic_prefix: str) -> ConnectWorker:
        """A worker on a local broker the tests or the bench started (coinsctl.apache_kafka), as its
        `connect` principal, its REST API on a free port of 127.0.0.1."""
        env = broker.client_env("connect")
        rest_port = free_port()
        sasl = {
            "protocol": env["KAFKA_SECURITY_PROTOCOL"],
            "mechanism": env["KAFKA_SASL_MECHANISM"],
            "username": env["KAFKA_SASL_USERNAME"],
            "password": env["KAFKA_SASL_PASSWORD"],
        }
        properties = worker_properties(
            bootstrap=broker.bootstrap, sasl=sasl, rest_host="127.0.0.1", rest_port=rest_port, topic_prefix=topic_prefix
        )
        return cls(home, properties, rest_port)

    MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"

    @property
    def proc(self) -> subprocess.Popen | None:
        """The worker's process (in a container: the `docker run` client attached to it)."""
        return self.java.proc

    def command(self) -> list[str]:
        return self.java.command(self.MAIN, str(self.props), jvm=[f"-Xmx{self.heap}"])

    def start(self, timeout_s: float = 180.0) -> None:
        with open(self.log_path, "ab") as log:  # the child holds its own copy
            self.java.start(self.MAIN, str(self.props), jvm=[f"-Xmx{self.heap}"], log=log)
        wait(self._ready, timeout_s, f"Kafka Connect not ready; see {self.log_path}", proc=self.proc)

    def _ready(self) -> bool:
        if not port_open("127.0.0.1", self.rest_port):
            return False
        try:
            plugins = self.rest.call("GET", "/connector-plugins")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return any(p["class"].endswith("PostgresConnector") for p in plugins)

    def stop(self, *, kill: bool = False) -> None:
        self.java.stop(kill=kill)


def wait(condition, timeout_s: float, message: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{message} (exited with {proc.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.2)


def serve() -> None:
    """`python -m coinsctl.connect_worker`: one Connect worker in the foreground, as its container
    runs it (its variables: coinsctl.settings.connect_settings)."""
    settings = connect_settings()
    worker = ConnectWorker(
        settings.home,
        worker_properties(
            bootstrap=settings.bootstrap,
            sasl=settings.sasl,
            rest_host=settings.rest_host,
            rest_port=settings.rest_port,
            topic_prefix=settings.topic_prefix,
        ),
        settings.rest_port,
        heap=settings.heap,
    )
    argv = worker.command()  # `java ...` (in its image), or `docker run ... java ...` on a host without Java
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    serve()
