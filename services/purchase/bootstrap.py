"""Wiring: settings, engine, unit of work and payment processor for the purchase service."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.purchase.adapters.orm import tables
from services.purchase.adapters.processor import PaymentProcessor, SandboxCardProcessor
from services.purchase.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from services.purchase.settings import PurchaseSettings, load_settings
from shared.auth.tokens import TokenVerifier
from shared.db.engines import service_engine


@dataclass
class PurchaseService:
    """The process's one wiring object; a web app keeps it and reaches it with shared.http.app `wiring`."""

    settings: PurchaseSettings
    engine: Engine
    processor: PaymentProcessor
    verifier: TokenVerifier | None = None  # a web process's: its create_app builds it

    def uow(self, conn=None, key: tuple[str, str] | None = None) -> SqlAlchemyUnitOfWork:
        """A unit of work on the engine, or joined to `conn`'s transaction; `key`: the request's
        (caller, Idempotency-Key), for the purchase it makes to be tied to."""
        return SqlAlchemyUnitOfWork(self.engine, conn=conn, key=key)

    tables = tables


def bootstrap(
    settings: PurchaseSettings | None = None, engine: Engine | None = None, processor: PaymentProcessor | None = None
) -> PurchaseService:
    settings = settings or load_settings()
    return PurchaseService(
        settings=settings,
        engine=engine or service_engine(settings.common),
        processor=processor or SandboxCardProcessor(settings.processor),
    )
