"""Alembic, driven from code: each service's migrations live in services/<name>/migrations."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from shared.db.engines import database_url, make_engine, normalise_url


def alembic_config(service: str, database_url: str) -> Config:
    folder = Path(__file__).resolve().parents[2] / "services" / service / "migrations"
    cfg = Config(str(folder / "alembic.ini"))
    cfg.set_main_option("script_location", str(folder))
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(service, database_url), revision)


def is_current(service: str, database_url: str) -> bool:
    """Whether the database is at the latest revision of the service's migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(service, database_url)).get_heads())
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads()) == heads
    finally:
        engine.dispose()


def wait_current(service: str, database_url: str, *, timeout_s: float, poll_s: float = 2.0) -> bool:
    """Wait until the release's migration Job has brought the schema up to date (a Deployment's
    init container runs this, so no pod of a release starts on the schema of the one before)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if is_current(service, database_url):
                return True
        except Exception as exc:  # noqa: BLE001 - the database may still be starting
            print(f"{service}: schema not readable yet: {type(exc).__name__}")
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def run_env(target_metadata: sa.MetaData, default_url_env: str) -> None:
    """The body of every service's migrations/env.py."""
    from shared.env import Env

    url = context.config.get_main_option("sqlalchemy.url") or Env().optional(default_url_env)
    if not url:
        raise RuntimeError(f"set {default_url_env} or sqlalchemy.url to migrate")
    if context.is_offline_mode():
        context.configure(
            url=normalise_url(url), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.db.migrate <service>`: migrate from <SERVICE>_DATABASE_URL (what images run)."""
    import os
    import sys

    from shared.credentials import SERVICES, deployment_environment, refuse_foreign
    from shared.env import Env

    args = (argv if argv is not None else sys.argv[1:]) or []
    if args and args[-1] in SERVICES:
        refuse_foreign(
            args[-1], "wait-migrated" if args[0] == "--wait" else "migrate", os.environ, deployment_environment()
        )
    if len(args) == 2 and args[0] == "--wait":
        if not wait_current(args[1], database_url(args[1]), timeout_s=Env().int("MIGRATION_WAIT_SECONDS", 600)):
            raise SystemExit(f"{args[1]}: the schema is not at the latest revision; has the migration Job run?")
        print(f"{args[1]}: schema is current")
        return
    if len(args) != 1:
        raise SystemExit("usage: python -m shared.db.migrate [--wait] <purchase|gifting|payout>")
    upgrade(args[0], database_url(args[0]))
    print(f"{args[0]}: migrated")


if __name__ == "__main__":
    main()
