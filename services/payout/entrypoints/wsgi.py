"""The payout web app; gunicorn calls its factory: `services.payout.entrypoints.wsgi:create_app()`."""

from __future__ import annotations

from flask import Flask

from services.payout.api import views
from services.payout.bootstrap import PayoutService, bootstrap
from shared.http.factory import create_app as create_base_app


def create_app(svc: PayoutService | None = None) -> Flask:
    """The app serving `views.bp`, its one wiring object `svc` (the views' `service()`)."""
    svc = svc or bootstrap()
    return create_base_app(
        svc,
        blueprints=[views.bp],
        title="Coins payout",
        description="Creators, their earnings in diamonds, withdrawals and payouts.",
        tags={
            "creators": "Registering a creator, their payout method and its changes, their earnings",
            "withdrawals": "Cashing out available diamonds to the creator's payout method",
        },
    )
