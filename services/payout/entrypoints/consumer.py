"""The payout service's consumer: each gift credits its creator's diamonds.

`python -m services.payout.entrypoints.consumer`
"""

from __future__ import annotations

from services.payout.adapters.orm import tables
from services.payout.bootstrap import PayoutService, bootstrap
from services.payout.domain.commands import CreditEarnings
from services.payout.service_layer import handlers
from shared.contracts import GIFT_SENT
from shared.inbox import Apply
from shared.runners import run_consumer


def event_handlers(svc: PayoutService) -> dict:
    """Topic -> how to apply its events inside the consumer's batch transaction: one at a time,
    and set-wise for a whole batch (the consumer's fast path)."""

    def credit(data: dict) -> CreditEarnings:
        return CreditEarnings(
            gift_tx_id=data["gift_tx_id"],
            creator_id=data["creator_id"],
            sender_id=data["sender_id"],
            diamonds=data["diamonds"],
            sent_at=data["sent_at"],
        )

    def on_gift_sent(conn, _envelope, data):
        handlers.credit_earnings(credit(data), uow=svc.uow(conn), rules=svc.settings.rules)

    def on_gifts_sent(conn, events):
        handlers.credit_earnings_many(
            [credit(data) for _envelope, data in events], uow=svc.uow(conn), rules=svc.settings.rules
        )

    return {GIFT_SENT.topic: Apply(one=on_gift_sent, many=on_gifts_sent)}


def main() -> None:
    svc = bootstrap()
    run_consumer(svc.settings.common, svc.engine, tables["inbox"], event_handlers(svc))


if __name__ == "__main__":
    main()
