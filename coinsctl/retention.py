"""`coinsctl prune`: a service's retention run, from its database URL (what the CronJob runs)."""

from __future__ import annotations

from importlib import import_module

from shared.db.engines import make_engine
from shared.db.retention import Pruned, Windows, prune


def prune_service(service: str, database_url: str, windows: Windows, *, batch_size: int = 5000) -> Pruned:
    tables = import_module(f"services.{service}.adapters.orm").tables
    engine = make_engine(database_url, pool_size=1)
    try:
        return prune(engine, tables, windows, batch_size=batch_size)
    finally:
        engine.dispose()
