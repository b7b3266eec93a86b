"""The services' OpenAPI documents as committed files (docs/openapi/<service>.json): what each app
serves at /openapi.json, built from an app on a throwaway SQLite database with default settings
(nothing in a document depends on a setting). `coinsctl openapi` writes them, a test checks the
copy is current, and `make client` generates clients/python from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module

from flask import Flask

from shared.credentials import SERVICES


@contextmanager
def service_app(service: str) -> Iterator[Flask]:
    """`service`'s web app with default settings, on a database it never connects to."""
    environ = {
        "COINS_ENV": "test",
        f"{service.upper()}_DATABASE_URL": "sqlite://",  # never connected: building the app reads nothing
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }
    settings = import_module(f"services.{service}.settings").load_settings(environ)
    svc = import_module(f"services.{service}.bootstrap").bootstrap(settings)
    try:
        yield import_module(f"services.{service}.entrypoints.wsgi").create_app(svc)
    finally:
        svc.engine.dispose()


def document(service: str) -> dict:
    """The OpenAPI document `service`'s app serves."""
    with service_app(service) as app:
        answer = app.test_client().get("/openapi.json")
    if answer.status_code != 200:
        body = answer.get_data(as_text=True)
        raise RuntimeError(f"{service}'s app answered /openapi.json with {answer.status_code}: {body}")
    return answer.get_json()


def documents() -> dict[str, dict]:
    """{file name: document} for every service."""
    return {f"{service}.json": document(service) for service in SERVICES}
