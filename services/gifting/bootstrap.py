"""Wiring: settings, engine and unit of work for gifting, built once per process."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.gifting.adapters.orm import tables
from services.gifting.service_layer.unit_of_work import GiftingUnitOfWork
from services.gifting.settings import GiftingSettings, load_settings
from shared.db import service_engine


@dataclass
class Gifting:
    settings: GiftingSettings
    engine: Engine

    def uow(self, conn=None) -> GiftingUnitOfWork:
        return GiftingUnitOfWork(self.engine, conn=conn)

    tables = tables


def bootstrap(settings: GiftingSettings | None = None, engine: Engine | None = None) -> Gifting:
    settings = settings or load_settings()
    return Gifting(settings=settings, engine=engine or service_engine(settings.common))
