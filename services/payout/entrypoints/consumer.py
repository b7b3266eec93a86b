"""The payout service's consumer: each gift credits its creator's diamonds.

`python -m services.payout.entrypoints.consumer`
"""

from __future__ import annotations

from services.payout.bootstrap import PayoutService, bootstrap
from services.payout.domain.commands import CreditEarnings
from services.payout.service_layer import handlers
from shared.contracts import GIFT_SENT
from shared.messaging.inbox import Apply
from shared.messaging.uow import run
from shared.runtime.runners import run_consumer


def event_handlers(svc: PayoutService) -> dict:
    """Topic -> how to apply its events inside the consumer's batch transaction: a whole batch
    at once (the fast path), or one at a time (the inbox's fallback when a batch fails). Both
    go through the one handler, `credit_earnings`."""

    def on_gifts_sent(conn, events):
        cmds = [_credit_earnings(data) for _envelope, data in events]
        run(handlers.credit_earnings, cmds, uow=svc.uow(conn), rules=svc.settings.rules)

    def on_gift_sent(conn, envelope, data):
        on_gifts_sent(conn, [(envelope, data)])

    return {GIFT_SENT.topic: Apply(one=on_gift_sent, many=on_gifts_sent)}


def _credit_earnings(data: dict) -> CreditEarnings:
    """A gift.sent event's data (shared.contracts) as the command it asks of payout."""
    return CreditEarnings(
        gift_tx_id=data["gift_tx_id"],
        creator_id=data["creator_id"],
        sender_id=data["sender_id"],
        diamonds=data["diamonds"],
        sent_at=data["sent_at"],
    )


def main() -> None:
    svc = bootstrap()
    run_consumer(svc.settings.common, svc.engine, svc.tables["inbox"], event_handlers(svc))


if __name__ == "__main__":
    main()
