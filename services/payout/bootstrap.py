"""Wiring: settings, engine, unit of work and payout processor for the payout service."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.payout.adapters.orm import tables
from services.payout.adapters.processor import PayoutProcessor, SandboxPayoutProcessor
from services.payout.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from services.payout.settings import PayoutSettings, load_settings
from shared.auth.tokens import TokenVerifier
from shared.db.engines import service_engine


@dataclass
class PayoutService:
    """The process's one wiring object; a web app keeps it and reaches it with shared.http.app `wiring`."""

    settings: PayoutSettings
    engine: Engine
    processor: PayoutProcessor
    verifier: TokenVerifier | None = None  # a web process's: its create_app builds it

    def uow(self, conn=None) -> SqlAlchemyUnitOfWork:
        """A unit of work on the engine, or joined to `conn`'s transaction."""
        return SqlAlchemyUnitOfWork(self.engine, conn=conn)

    tables = tables


def bootstrap(
    settings: PayoutSettings | None = None, engine: Engine | None = None, processor: PayoutProcessor | None = None
) -> PayoutService:
    settings = settings or load_settings()
    return PayoutService(
        settings=settings,
        engine=engine or service_engine(settings.common),
        processor=processor or SandboxPayoutProcessor(settings.processor),
    )
