"""One viewer's money through all three services' handlers, each event handed to the next
service as its consumer would, all in memory: conservation holds at the end."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.errors import InsufficientCoins, WalletFrozen
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer import handlers as gifting
from services.payout.domain.commands import CreditEarnings
from services.payout.domain.rules import PayoutRules
from services.payout.service_layer import handlers as payout
from services.purchase.domain.commands import BuyCoins, RecordChargeback
from services.purchase.domain.rules import PurchaseRules
from services.purchase.service_layer import handlers as purchase
from services.purchase.service_layer import settlement as purchase_settlement
from shared.messaging.uow import run
from tests.fakes.gifting import FakeGiftingUnitOfWork
from tests.fakes.payout import FakePayoutUnitOfWork
from tests.fakes.purchase import FakePurchaseUnitOfWork
from tests.support.processors import FakeCardProcessor


def deliver(events: list[tuple[str, dict]], *, wallets: FakeGiftingUnitOfWork, earnings: FakePayoutUnitOfWork) -> None:
    """What the gifting and payout consumers do with each event."""
    for kind, data in events:
        if kind == "purchase.completed":
            run(
                gifting.credit_purchase,
                CreditPurchase(data["purchase_id"], data["user_id"], data["coins"]),
                uow=wallets,
            )
        elif kind == "purchase.reversed":
            run(
                gifting.claw_back_purchase,
                ClawBackPurchase(data["purchase_id"], data["chargeback_id"], data["user_id"], data["coins"]),
                uow=wallets,
            )
        elif kind == "gift.sent":
            run(
                payout.credit_earnings,
                [
                    CreditEarnings(
                        data["gift_tx_id"], data["creator_id"], data["sender_id"], data["diamonds"], data["sent_at"]
                    )
                ],
                uow=earnings,
                rules=PayoutRules(),
            )


def test_a_viewer_buys_700_coins_sends_a_lion_is_refused_then_a_chargeback_freezes_the_wallet():
    purchases, wallets, earnings = FakePurchaseUnitOfWork(), FakeGiftingUnitOfWork(), FakePayoutUnitOfWork()
    bought = purchase.buy_coins(
        BuyCoins(
            user_id="viewer",
            country="US",
            birth_date=date(1990, 1, 1),
            payment_method="card",
            payment_token="tok_visa",
            package_id="coins_700",
        ),
        uow=purchases,
        processor=FakeCardProcessor(),
        rules=PurchaseRules(blocked_countries=frozenset()),
        token=purchases.hold(),
        resumes=None,
        claim_for=timedelta(seconds=30),
        first_check=timedelta(minutes=2),
    )
    deliver(purchases.consumed(), wallets=wallets, earnings=earnings)

    def send(gift_id: str, quantity: int = 1):
        return run(
            gifting.send_gift, SendGift("viewer", "creator", gift_id, quantity), uow=wallets, rules=GiftingRules()
        )

    with pytest.raises(InsufficientCoins):
        send("lion")
    send("corgi", quantity=2)
    deliver(wallets.consumed(), wallets=wallets, earnings=earnings)
    run(
        purchase_settlement.record_chargeback,
        RecordChargeback(purchase_id=bought.purchase_id, reason="fraud"),
        uow=purchases,
    )
    deliver(purchases.consumed()[1:], wallets=wallets, earnings=earnings)
    with pytest.raises(WalletFrozen):
        send("rose")

    coins_bought, coins_reversed, coins_gifted = 700, 700, 598
    assert wallets.balance_of("viewer") == coins_bought - coins_reversed - coins_gifted == -598
    assert run(payout.earnings_of, "creator", uow=earnings).total == coins_gifted  # one diamond per coin
