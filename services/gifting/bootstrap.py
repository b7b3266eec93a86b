"""Wiring: settings, engine and unit of work for gifting, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.gifting.adapters.orm import tables
from services.gifting.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from services.gifting.settings import GiftingSettings, load_settings
from shared.auth.tokens import TokenVerifier
from shared.db.engines import service_engine


@dataclass
class GiftingService:
    """The process's one wiring object; a web app keeps it and reaches it with shared.http.app `wiring`."""

    settings: GiftingSettings
    engine: Engine
    verifier: TokenVerifier | None = None  # a web process's: its create_app builds it

    def uow(self, conn=None, key_row: dict | None = None) -> SqlAlchemyUnitOfWork:
        """A unit of work on the engine, or joined to `conn`'s transaction (with the request's
        key row where the gift's statement may claim it)."""
        return SqlAlchemyUnitOfWork(self.engine, conn=conn, key_row=key_row)

    tables = tables


def bootstrap(settings: GiftingSettings | None = None, engine: Engine | None = None) -> GiftingService:
    settings = settings or load_settings()
    return GiftingService(settings=settings, engine=engine or service_engine(settings.common))
