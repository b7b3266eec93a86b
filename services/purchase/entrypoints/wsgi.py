"""The purchase web app, for gunicorn: `services.purchase.entrypoints.wsgi:app`."""

from __future__ import annotations

from flask import Flask

from services.purchase.adapters.orm import tables
from services.purchase.api.views import blueprint
from services.purchase.bootstrap import PurchaseService, bootstrap
from shared.web import Infra, lazy_app
from shared.web import create_app as create_base_app


def create_app(svc: PurchaseService | None = None) -> Flask:
    svc = svc or bootstrap()
    return create_base_app(
        infra_=Infra(settings=svc.settings.common, engine=svc.engine, tables=tables),
        blueprints=[blueprint(svc)],
        title="Coins purchase",
        description="Coin packages and prices per country, purchases, chargebacks.",
    )


__getattr__ = lazy_app(create_app)
