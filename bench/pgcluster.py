"""A PostgreSQL cluster of the benchmark's own, started for one run and removed after it.

The machine's shared cluster may be configured for tests rather than for load (this workplace's
turns autovacuum off, so dead rows pile up for the whole run and the later loads pay for the
earlier ones). The bench measures the baselines and the system on one cluster of its own, with
PostgreSQL's defaults (autovacuum on) and shared buffers sized for a server rather than a laptop.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

# Everything else is PostgreSQL's default; each setting here is one a production server also has.
SETTINGS = {"listen_addresses": "127.0.0.1", "shared_buffers": "512MB", "autovacuum": "on"}
# With the CDC step: Debezium reads the outbox's inserts from a logical replication slot.
LOGICAL = {"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}


def bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and Path(out, "initdb").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


class OwnCluster:
    """initdb, start on `port`, and stop/remove. As root, PostgreSQL refuses to run, so the
    cluster runs as the `postgres` system user."""

    def __init__(self, port: int, *, logical: bool = False):
        self.port = port
        self.settings = {**SETTINGS, **(LOGICAL if logical else {})}
        self.bindir = bindir()
        if self.bindir is None:
            raise RuntimeError("initdb not found (pg_config --bindir, /usr/lib/postgresql/*/bin)")
        self.root = Path(tempfile.mkdtemp(prefix="coins-bench-pg-"))
        self.data = self.root / "data"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root and there is no postgres user to run PostgreSQL") from exc
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            self.prefix + [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
        )
        if result.returncode:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> OwnCluster:
        """initdb and start; on failure, whatever was made is stopped and removed before raising."""
        options = " ".join(
            f"-c {name}={value}"
            for name, value in {**self.settings, "port": self.port, "unix_socket_directories": str(self.root)}.items()
        )
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
