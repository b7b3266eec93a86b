"""A Kafka-compatible broker for tests: the one in KAFKA_BOOTSTRAP_SERVERS, or a local one spawned here."""
from __future__ import annotations

import socket
import subprocess
import tempfile
from pathlib import Path

from coinsctl.broker import start_broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpawnedBroker:
    def __init__(self):
        self.port = free_port()
        self.log = Path(tempfile.mkdtemp(prefix="coins-broker-")) / "broker.log"
        self.proc: subprocess.Popen | None = start_broker("127.0.0.1", self.port, self.log)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
