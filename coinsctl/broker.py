"""The local ports and process groups that the broker a local stack, a test run or the bench starts
(Apache Kafka, `coinsctl.apache_kafka`) and the stack's processes need."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
from pathlib import Path


def free_port() -> int:
    """A port nothing is bound to, below the kernel's ephemeral range, and not handed out before by
    this process. A port from bind(0) comes from that range, which outgoing connections draw from
    too: with a stack's processes connecting to their databases and the broker, one of them could
    take it before the process it was chosen for listens on it (seen as "Address already in use"
    from a relay's probe port). A port is only bound when its process starts, so two picks for one
    stack (a service's and a sandbox's) could be the same free port: the second to start could not
    bind, and requests for it went to the first (seen as a 404 from the sandbox for a creator's
    earnings)."""
    low = _ephemeral_low()
    with _HANDED_OUT_LOCK:
        for _ in range(100):
            port = random.randrange(20_000, low) if low > 20_000 else 0
            if port in _HANDED_OUT:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("0.0.0.0", port))
                except OSError:
                    continue
                port = s.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    raise RuntimeError("no free port found")


_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


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
