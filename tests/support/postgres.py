"""The local PostgreSQL for tests: started if installed but not running; one database per use."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
import uuid

import psycopg

ADMIN_URL = os.environ.get("COINS_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_running() -> str | None:
    """None if PostgreSQL answers (starting the installed cluster if needed), else why not."""
    if _reachable():
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
            if _reachable():
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
