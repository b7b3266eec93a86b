"""The gifting web app; gunicorn calls its factory: `services.gifting.entrypoints.wsgi:create_app()`."""

from __future__ import annotations

from flask import Flask

from services.gifting.api import views
from services.gifting.bootstrap import GiftingService, bootstrap
from shared.http.factory import create_app as create_base_app


def create_app(svc: GiftingService | None = None) -> Flask:
    """The app serving `views.bp`, its one wiring object `svc` (the views' `service()`)."""
    svc = svc or bootstrap()
    return create_base_app(
        svc,
        blueprints=[views.bp],
        title="Coins gifting",
        description="Gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards.",
        tags={
            "gifts": "The catalog, and sending a gift (coins from a wallet, diamonds to a creator)",
            "wallets": "A user's coin balance and its ledger",
            "leaderboards": "Top gifters of a live stream",
        },
    )
