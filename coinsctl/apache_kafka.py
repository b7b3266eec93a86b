"""A single-node Apache Kafka broker (KRaft, no ZooKeeper) run from its published jars.

What `make test`, the bench and `KAFKA=apache make run` use: the production broker, on loopback.
Its data lives in a directory of its own, so a restart keeps every topic, record and offset.
Clients authenticate with SASL/SCRAM-SHA-512 and the StandardAuthorizer holds them to their ACLs
(see `coinsctl.kafka_acls`); `admin` is the super user that creates topics and ACLs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from coinsctl.broker import free_port, port_open
from coinsctl.jvm import Jars, Java
from coinsctl.settings import broker_settings, kafka_jars
from shared.kafka.settings import KafkaSettings, kafka_settings

REPO = Path(__file__).resolve().parent.parent
KAFKA_DIR = REPO / "deploy" / "kafka"
MECHANISM = "SCRAM-SHA-512"
SERVICE_USERS = ("purchase", "gifting", "payout")
CONNECT_USER = "connect"  # Kafka Connect (the CDC path: coinsctl.cdc), held to coinsctl.kafka_acls.connect_acls


def classpath() -> str:
    """The broker's jars (fetched with Maven from deploy/kafka/pom.xml on first use, then cached)."""
    jars = (
        kafka_jars()
        or subprocess.run(
            [str(KAFKA_DIR / "fetch-jars.sh")], check=True, capture_output=True, text=True, timeout=600
        ).stdout.strip()
    )
    return f"{jars}/*"


JARS = Jars(host_classpath=classpath, image="kafka", image_dir="/opt/kafka/libs")


@dataclass
class Credentials:
    """One SCRAM password a principal: `admin` (super user), one per service, `connect`, and `outsider`
    (authenticated but granted nothing: what a stolen or misconfigured client looks like)."""

    passwords: dict[str, str] = field(
        default_factory=lambda: {
            user: secrets.token_hex(16) for user in ("admin", *SERVICE_USERS, CONNECT_USER, "outsider")
        }
    )

    def scram_args(self) -> list[str]:
        return [
            arg
            for user, pw in self.passwords.items()
            for arg in ("--add-scram", f"{MECHANISM}=[name={user},password={pw}]")
        ]

    def client_env(self, user: str) -> dict[str, str]:
        """The KAFKA_* variables a process needs to connect as `user`."""
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.passwords[user],
        }


def server_properties(
    *,
    port: int,
    controller_port: int,
    data_dir: Path,
    creds: Credentials,
    listen_host: str = "127.0.0.1",
    advertised_host: str = "127.0.0.1",
) -> str:
    admin_pw = creds.passwords["admin"]
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=CLIENT://{listen_host}:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=CLIENT://{advertised_host}:{port}",
            "listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name=CLIENT",
            "controller.listener.names=CONTROLLER",
            # SCRAM credentials live in the cluster metadata, which the controller cannot read before
            # it runs, so the controller listener authenticates with PLAIN from this file instead.
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain."
            f'PlainLoginModule required username="admin" password="{admin_pw}" user_admin="{admin_pw}";',
            f"listener.name.client.{MECHANISM.lower()}.sasl.jaas.config=org.apache.kafka.common.security."
            f'scram.ScramLoginModule required username="admin" password="{admin_pw}";',
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users=User:admin",
            "allow.everyone.if.no.acl.found=false",
            f"log.dirs={data_dir}",
            "auto.create.topics.enable=false",
            "num.partitions=1",
            # One node: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # A group's first member does not wait 3 s for others to join.
            "group.initial.rebalance.delay.ms=0",
            "log.segment.bytes=16777216",
            "",
        ]
    )


def _write_secret(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte (no window with wider rights)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(fd, "w") as out:
        out.write(text)


class ApacheKafka:
    """One broker process: format once, then start and stop (and restart) keeping its data. Its JVM
    is this machine's or, where there is none, its image's (coinsctl.jvm)."""

    kind = "apache"
    secured = True

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        passwords: dict[str, str] | None = None,
        heap: str = "512m",
        listen_host: str = "127.0.0.1",
        advertised_host: str = "127.0.0.1",
    ):
        self.home = home.resolve()
        self.heap = heap
        self.listen_host, self.advertised_host = listen_host, advertised_host
        self.java = Java(JARS, self.home)
        self.log_path = self.home / "broker.log"
        self._log_offset = 0
        state = self.home / "broker.json"
        if state.exists():  # formatted before: same ports, same principals, same data
            saved = json.loads(state.read_text())
            self.port, self.controller_port = saved["port"], saved["controller_port"]
            self.creds = Credentials(saved["passwords"])
        else:
            self.port, self.controller_port = port or free_port(), controller_port or free_port()
            self.creds = Credentials(passwords) if passwords else Credentials()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def proc(self) -> subprocess.Popen | None:
        """The broker's process (in a container: the `docker run` client attached to it)."""
        return self.java.proc

    def client_env(self, user: str) -> dict[str, str]:
        """The environment a process needs to reach this broker as `user`."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, **self.creds.client_env(user)}

    def settings(self, user: str = "admin", topic_prefix: str = "") -> KafkaSettings:
        return kafka_settings({**self.client_env(user), "KAFKA_TOPIC_PREFIX": topic_prefix})

    def prepare(self) -> None:
        """Write server.properties for this start (host names may differ from the first's; the
        principals live in the metadata) and format the KRaft log directory the first time."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)
        _write_secret(
            self.home / "broker.json",
            json.dumps({"port": self.port, "controller_port": self.controller_port, "passwords": self.creds.passwords}),
        )
        props = self.home / "server.properties"
        _write_secret(  # it holds the admin's and every principal's password
            props,
            server_properties(
                port=self.port,
                controller_port=self.controller_port,
                data_dir=self.home / "data",
                creds=self.creds,
                listen_host=self.listen_host,
                advertised_host=self.advertised_host,
            ),
        )
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = self.java.run("kafka.tools.StorageTool", "random-uuid", jvm=self._jvm()).strip()
            scram = self.creds.scram_args()
            self.java.run(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props), *scram, jvm=self._jvm()
            )

    def command(self) -> list[str]:
        """The broker's command line (after `prepare`)."""
        return self.java.command("kafka.Kafka", str(self.home / "server.properties"), jvm=self._jvm())

    def wipe(self) -> None:
        """Stop and lose every topic, record, offset and ACL (a disk lost): the next start formats anew."""
        self.stop(kill=True)
        shutil.rmtree(self.home / "data", ignore_errors=True)

    def start(self, timeout_s: float = 90.0) -> None:
        self.prepare()
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use")
        log = open(self.log_path, "ab")
        self._log_offset = log.tell()
        with log:  # the child holds its own copy
            self.java.start("kafka.Kafka", str(self.home / "server.properties"), jvm=self._jvm(), log=log)
        deadline = time.monotonic() + timeout_s
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"Apache Kafka exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Apache Kafka did not start within {timeout_s:.0f}s; see {self.log_path}")
            time.sleep(0.2)

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM (a clean shutdown) or SIGKILL (`kill`: a crash), and wait for the end."""
        self.java.stop(kill=kill)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP, or `docker pause`): its port stays open but nothing answers."""
        self.java.pause()

    def resume(self) -> None:
        self.java.resume()

    def version(self) -> str:
        """The version the broker's own log announces ("Kafka version: 4.1.1")."""
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "Kafka version:" in line:
                return line.split("Kafka version:", 1)[1].split()[0]
        return "unknown"

    def _ready(self) -> bool:
        # The broker logs this once it serves clients (after the controller and its metadata).
        if not port_open("127.0.0.1", self.port):
            return False
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return b"Kafka Server started" in log.read()

    def _jvm(self) -> list[str]:
        return [f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC"]


def serve() -> None:
    """`python -m coinsctl.apache_kafka`: the broker in the foreground, as its container runs it.

    KAFKA_HOME (its data), KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_HEAP, KAFKA_LISTEN_HOST and
    KAFKA_ADVERTISED_HOST (127.0.0.1; in a compose network 0.0.0.0 and the service's name), and
    KAFKA_USERS (a JSON object of principal -> SCRAM password, used when the log directory is
    first formatted): read by `coinsctl.settings.broker_settings`."""
    settings = broker_settings()
    broker = ApacheKafka(
        settings.home,
        port=settings.port,
        controller_port=settings.controller_port,
        passwords=settings.users,
        heap=settings.heap,
        listen_host=settings.listen_host,
        advertised_host=settings.advertised_host,
    )
    broker.prepare()
    argv = broker.command()  # `java ...` (in its image), or `docker run ... java ...` on a host without Java
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    serve()
