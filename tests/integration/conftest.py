"""Each service on its own fresh, migrated PostgreSQL database, driven through Flask's test client."""

from __future__ import annotations

import os
from importlib import import_module

import pytest

from shared.db.migrate import upgrade


def _environ(service: str, url: str, **extra) -> dict:
    return {**os.environ, f"{service.upper()}_DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", **extra}


def build_service(service: str, url: str, *, processor=None, **env):
    """A migrated service on `url` and a Flask test client for it."""
    upgrade(service, url)
    settings = import_module(f"services.{service}.settings").load_settings(_environ(service, url, **env))
    bootstrap = import_module(f"services.{service}.bootstrap").bootstrap
    if processor is None and service != "gifting":  # in-memory processors here; the e2e suites run the sandboxes
        from tests.support.processors import FakeCardProcessor, FakePayoutProcessor

        processor = FakeCardProcessor() if service == "purchase" else FakePayoutProcessor()
    svc = bootstrap(settings, processor=processor) if processor is not None else bootstrap(settings)
    app = import_module(f"services.{service}.entrypoints.wsgi").create_app(svc)
    return svc, app.test_client()


@pytest.fixture
def make_service(pg_url, tmp_path):
    """make_service("gifting", backend="postgres"|"sqlite", **env) -> (service container, test client)."""
    engines = []

    def make(service: str, *, backend: str = "postgres", processor=None, **env):
        url = pg_url(service) if backend == "postgres" else f"sqlite:///{tmp_path}/{service}.db"
        svc, client = build_service(service, url, processor=processor, **env)
        engines.append(svc.engine)
        return svc, client

    yield make
    for engine in engines:
        engine.dispose()


def rows(svc, table: str) -> int:
    import sqlalchemy as sa

    with svc.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def outbox_events(svc) -> list[dict]:
    import json

    import sqlalchemy as sa

    with svc.engine.connect() as conn:
        return [json.loads(p) for p in conn.execute(sa.text("SELECT payload FROM outbox ORDER BY id")).scalars()]


def purchases_age(svc, by) -> None:
    """Time passes for the purchase service's purchases: every time they carry moves `by` into the past."""
    import sqlalchemy as sa

    from services.purchase.adapters.orm import purchases as t

    past = sa.literal(by, sa.Interval)
    with svc.engine.begin() as conn:
        conn.execute(
            t.update().values(
                {name: t.c[name] - past for name in ("created_at", "attempted_at", "next_check_at", "claimed_until")}
            )
        )
