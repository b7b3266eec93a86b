"""The payout service's consumer: each gift credits its creator's diamonds.

`python -m services.payout.entrypoints.consumer`
"""
from __future__ import annotations

from services.payout.adapters.orm import tables
from services.payout.bootstrap import PayoutService, bootstrap
from services.payout.domain.commands import CreditEarnings
from services.payout.service_layer import handlers
from shared.contracts import GIFT_SENT
from shared.runners import run_consumer


def event_handlers(svc: PayoutService) -> dict:
    """Topic -> handler(conn, envelope, data); each runs inside the consumer's batch transaction."""

    def on_gift_sent(conn, _envelope, data):
        handlers.credit_earnings(CreditEarnings(gift_tx_id=data["gift_tx_id"], creator_id=data["creator_id"],
                                                sender_id=data["sender_id"], diamonds=data["diamonds"],
                                                sent_at=data["sent_at"]),
                                 svc.uow(conn), rules=svc.settings.rules)

    return {GIFT_SENT.topic: on_gift_sent}


def main() -> None:
    svc = bootstrap()
    run_consumer(svc.settings.common, svc.engine, tables["inbox"], event_handlers(svc))


if __name__ == "__main__":
    main()
