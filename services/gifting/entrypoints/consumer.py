"""Gifting's consumer: purchases credit wallets, chargebacks claw coins back.

`python -m services.gifting.entrypoints.consumer`
"""

from __future__ import annotations

from services.gifting.bootstrap import GiftingService, bootstrap
from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase
from services.gifting.service_layer import handlers
from shared.contracts import PURCHASE_COMPLETED, PURCHASE_REVERSED
from shared.messaging.uow import run
from shared.runtime.runners import run_consumer


def event_handlers(svc: GiftingService) -> dict:
    """Topic -> handler(conn, envelope, data); each runs inside the consumer's batch transaction."""

    def on_purchase_completed(conn, _envelope, data):
        run(handlers.credit_purchase, _credit_purchase(data), uow=svc.uow(conn))

    def on_purchase_reversed(conn, _envelope, data):
        run(handlers.claw_back_purchase, _claw_back_purchase(data), uow=svc.uow(conn))

    return {PURCHASE_COMPLETED.topic: on_purchase_completed, PURCHASE_REVERSED.topic: on_purchase_reversed}


def _credit_purchase(data: dict) -> CreditPurchase:
    """A purchase.completed event's data (shared.contracts) as the command it asks of gifting."""
    return CreditPurchase(purchase_id=data["purchase_id"], user_id=data["user_id"], coins=data["coins"])


def _claw_back_purchase(data: dict) -> ClawBackPurchase:
    """A purchase.reversed event's data (shared.contracts) as the command it asks of gifting."""
    return ClawBackPurchase(
        purchase_id=data["purchase_id"],
        chargeback_id=data["chargeback_id"],
        user_id=data["user_id"],
        coins=data["coins"],
    )


def main() -> None:
    svc = bootstrap()
    run_consumer(svc.settings.common, svc.engine, svc.tables["inbox"], event_handlers(svc))


if __name__ == "__main__":
    main()
