"""Where the integration, end-to-end and fault tests get PostgreSQL and Kafka: the host or containers.

COINS_TEST_INFRA=host        the machine's PostgreSQL (deploy/ensure-postgres.sh) and Apache Kafka
                             from its jars on a local JVM (deploy/ensure-kafka.sh);
COINS_TEST_INFRA=containers  one PostgreSQL and one Apache Kafka container per test run
                             (testcontainers, host networking, 127.0.0.1 only), a database per test;
COINS_TEST_INFRA=auto        (the default) the host where it is ready or can be made so (root may
                             install and start it; or PostgreSQL already answers and Java is on PATH),
                             else containers where a Docker engine answers, else the host (whose
                             checks then say what is missing).

The fault and CDC tests start, pause, kill and wipe a broker and a Kafka Connect worker of their
own: on this machine's JVM, or in the coins-kafka and coins-connect images where there is none
or on the containers path (coinsctl.jvm; COINS_JAVA=host|docker|auto overrides).

The host is preferred where it can run: nothing has to be built first (the containers path
builds the images, minutes the first time, cached after), its cluster is initialised once and
stays up (a container's initdb and start cost seconds each run), and it is what CI runs. Per test
the two are as fast: the same PostgreSQL 15 and the same Kafka jars, on loopback either way.
`python -m tests.support.infra` prints the choice (the Makefile's `test` uses it to skip the host
installs when it is `containers`).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping

CHOICES = ("host", "containers", "auto")


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means: no engine to use
        return False


def host_ready() -> bool:
    """PostgreSQL answers where the tests look for it, and a JVM here can run Apache Kafka (the
    host path fetches its jars with Maven; the containers path needs neither)."""
    from tests.support.postgres import reachable

    return reachable() and shutil.which("java") is not None


def choose(environ: Mapping[str, str] = os.environ) -> str:
    """ "host" or "containers", by the rule above."""
    asked = environ.get("COINS_TEST_INFRA", "auto") or "auto"
    if asked not in CHOICES:
        raise ValueError(f"COINS_TEST_INFRA={asked!r}: expected one of {', '.join(CHOICES)}")
    if asked != "auto":
        return asked
    if os.geteuid() == 0 or host_ready():
        return "host"
    return "containers" if docker_answers() else "host"


def image(kind: str) -> str:
    """The image of `kind` ("postgres", "kafka"): coins_platform.testing's names and COINS_PLATFORM_* variables."""
    from coins_platform.testing import Images

    return Images.from_env().all[kind]


def start_container(kind: str, *, command: list[str] | None, env: Mapping[str, str], ready: Callable[[object], bool]):
    """A started container of `kind`'s image on the host's network, once `ready(container)`;
    stopped again (and removed) if it never is. Waits on the condition, never a fixed sleep."""
    import docker
    from testcontainers.core.container import DockerContainer

    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # where the reaper image cannot be pulled
    name = image(kind)
    try:
        docker.from_env(timeout=10).images.get(name)
    except docker.errors.ImageNotFound:
        raise RuntimeError(f"image {name} not found: build it with deploy/build-images.sh (make images)") from None
    container = DockerContainer(name).with_name(f"coins-test-{kind}-{uuid.uuid4().hex[:6]}")
    container = container.with_kwargs(network_mode="host")  # the engine here has no bridge; loopback only
    if command:
        container = container.with_command(command)
    for key, value in env.items():
        container = container.with_env(key, value)
    container.start()
    timeout_s = float(os.environ.get("COINS_TEST_CONTAINER_TIMEOUT_S", "300"))  # a loaded CI machine: minutes
    deadline = time.monotonic() + timeout_s
    try:
        while not ready(container):
            wrapped = container.get_wrapped_container()
            wrapped.reload()
            if wrapped.status == "exited" or time.monotonic() > deadline:
                log = wrapped.logs().decode(errors="replace")[-3000:]
                raise RuntimeError(f"the {kind} container ({name}) is not ready ({wrapped.status}):\n{log}")
            time.sleep(0.2)
    except BaseException:
        container.stop()
        raise
    return container


def logs(container) -> str:
    return container.get_wrapped_container().logs().decode(errors="replace")


if __name__ == "__main__":
    try:
        print(choose())
    except ValueError as exc:
        sys.exit(str(exc))
