"""Wiring: settings, engine and unit of work for gifting, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.gifting.adapters.orm import tables
from services.gifting.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from services.gifting.settings import GiftingSettings, load_settings
from shared.db.engines import service_engine


@dataclass
class GiftingService:
    settings: GiftingSettings
    engine: Engine

    def uow(self, conn=None) -> SqlAlchemyUnitOfWork:
        """A unit of work on the engine, or joined to `conn`'s transaction."""
        return SqlAlchemyUnitOfWork(self.engine, conn=conn)

    tables = tables


def bootstrap(settings: GiftingSettings | None = None, engine: Engine | None = None) -> GiftingService:
    settings = settings or load_settings()
    return GiftingService(settings=settings, engine=engine or service_engine(settings.common))
