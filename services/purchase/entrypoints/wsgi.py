"""The purchase web app; gunicorn calls its factory: `services.purchase.entrypoints.wsgi:create_app()`."""

from __future__ import annotations

from flask import Flask

from services.purchase.api import views
from services.purchase.bootstrap import PurchaseService, bootstrap
from shared.http.factory import create_app as create_base_app


def create_app(svc: PurchaseService | None = None) -> Flask:
    """The app serving `views.bp`, its one wiring object `svc` (the views' `service()`)."""
    svc = svc or bootstrap()
    return create_base_app(
        svc,
        blueprints=[views.bp],
        title="Coins purchase",
        description="Coin packages and prices per country, purchases, chargebacks.",
        tags={
            "packages": "The coin packages on sale in a country, and their prices",
            "purchases": "Buying coins (charged through the card processor) and a user's purchases",
            "chargebacks": "The processor's chargebacks: coins taken back from the buyer's wallet",
        },
    )
