"""The local ports and process groups that the broker a local stack, a test run or the bench starts
(Apache Kafka, `coinsctl.apache_kafka`) and the stack's processes need."""

from __future__ import annotations

import os
import random
import socket
import subprocess
from pathlib import Path


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


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the process and its children
    except ProcessLookupError:
        pass
