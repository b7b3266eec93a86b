"""The gifting web app, for gunicorn: `services.gifting.entrypoints.wsgi:app`."""

from __future__ import annotations

from flask import Flask

from services.gifting.adapters.orm import tables
from services.gifting.api.views import blueprint
from services.gifting.bootstrap import GiftingService, bootstrap
from shared.web import Infra, lazy_app
from shared.web import create_app as create_base_app


def create_app(svc: GiftingService | None = None) -> Flask:
    svc = svc or bootstrap()
    return create_base_app(
        infra_=Infra(settings=svc.settings.common, engine=svc.engine, tables=tables),
        blueprints=[blueprint(svc)],
        title="Coins gifting",
        description="Gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards.",
    )


__getattr__ = lazy_app(create_app)
