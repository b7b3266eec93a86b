"""The payout web app, for gunicorn: `services.payout.entrypoints.wsgi:app`."""

from __future__ import annotations

from flask import Flask

from services.payout.adapters.orm import tables
from services.payout.api.views import blueprint
from services.payout.bootstrap import PayoutService, bootstrap
from shared.web import Infra, lazy_app
from shared.web import create_app as create_base_app


def create_app(svc: PayoutService | None = None) -> Flask:
    svc = svc or bootstrap()
    return create_base_app(
        infra_=Infra(settings=svc.settings.common, engine=svc.engine, tables=tables),
        blueprints=[blueprint(svc)],
        title="Coins payout",
        description="Creators, their earnings in diamonds, withdrawals and payouts.",
    )


__getattr__ = lazy_app(create_app)
