"""The gifting web app; gunicorn calls its factory: `services.gifting.entrypoints.wsgi:create_app()`."""

from __future__ import annotations

from flask import Flask

from services.gifting.adapters.orm import tables
from services.gifting.api import views
from services.gifting.bootstrap import GiftingService, bootstrap
from shared.http.app import Infra
from shared.http.app import create_app as create_base_app


def create_app(svc: GiftingService | None = None) -> Flask:
    """The app serving `views.bp`, whose views take their units of work from `svc` (`views.service()`)."""
    svc = svc or bootstrap()
    app = create_base_app(
        infra_=Infra(settings=svc.settings.common, engine=svc.engine, tables=tables),
        blueprints=[views.bp],
        title="Coins gifting",
        description="Gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards.",
        tags={
            "gifts": "The catalog, and sending a gift (coins from a wallet, diamonds to a creator)",
            "wallets": "A user's coin balance and its ledger",
            "leaderboards": "Top gifters of a live stream",
        },
    )
    app.extensions["service"] = svc
    return app
