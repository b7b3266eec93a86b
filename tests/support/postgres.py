"""PostgreSQL for tests: the machine's (started if installed but not running) or a container of
this run's (tests.support.infra); one database per use."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
import uuid

import psycopg

ADMIN_URL = os.environ.get("COINS_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def reachable(url: str = ADMIN_URL) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_running() -> str | None:
    """None if PostgreSQL answers (starting the installed cluster if needed), else why not."""
    if reachable():
        return None
    if shutil.which("pg_ctlcluster"):
        for version_dir in sorted(glob.glob("/etc/postgresql/*/main")):
            version = version_dir.split("/")[3]
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                capture_output=True,
                timeout=60,
            )
        for _ in range(50):
            if reachable():
                return None
            time.sleep(0.2)
        return f"PostgreSQL is installed but did not start at {ADMIN_URL}"
    return f"PostgreSQL is not installed and nothing answers at {ADMIN_URL}"


def create_database(prefix: str, admin_url: str | None = None) -> str:
    """A new database on the cluster of `admin_url` (default: the machine's); its URL."""
    admin_url = admin_url or ADMIN_URL
    name = f"coins_test_{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str, admin_url: str | None = None) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url or ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    """A PostgreSQL server the tests make their databases on: `ADMIN_URL`, `create_database(prefix)`,
    `drop_database(url)`; `stop()` stops the container it runs in, if it does."""

    def __init__(self, admin_url: str, container=None):
        self.ADMIN_URL = admin_url
        self._container = container

    def create_database(self, prefix: str) -> str:
        return create_database(prefix, self.ADMIN_URL)

    def drop_database(self, url: str) -> None:
        drop_database(url, self.ADMIN_URL)

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None


def host_cluster() -> Cluster:
    """The machine's cluster; RuntimeError saying why when it cannot be had."""
    problem = ensure_running()
    if problem:
        raise RuntimeError(f"{problem} (deploy/ensure-postgres.sh, run by make test as root, installs and starts it)")
    return Cluster(ADMIN_URL)


def container_cluster() -> Cluster:
    """PostgreSQL 15 in a container of its own on a free loopback port, trust authentication, and
    wal_level=logical as deploy/ensure-postgres.sh sets on the host (the CDC tests need it).
    fsync is off: its data is thrown away with it."""
    from coinsctl.broker import free_port
    from tests.support.infra import start_container

    port = free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    command = ["postgres", "-p", str(port), "-c", "listen_addresses=127.0.0.1"]  # host networking: loopback only
    command += ["-c", "wal_level=logical", "-c", "fsync=off", "-c", "max_connections=200"]
    env = {"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_PASSWORD": "unused"}
    container = start_container("postgres", command=command, env=env, ready=lambda _: reachable(url))
    return Cluster(url, container)
