"""Gifting's handlers told as money stories, on the in-memory unit of work (no database, no broker)."""

from __future__ import annotations

import pytest

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.errors import InsufficientCoins, InvalidQuantity, SelfGift, UnknownGift, WalletFrozen
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer import handlers
from shared.messaging.uow import run, transaction
from tests.fakes.gifting import FakeGiftingUnitOfWork

RULES = GiftingRules()


@pytest.fixture
def uow() -> FakeGiftingUnitOfWork:
    return FakeGiftingUnitOfWork()


def buy(uow, user_id: str, coins: int, purchase_id: str = "p-1") -> None:
    run(handlers.credit_purchase, CreditPurchase(purchase_id=purchase_id, user_id=user_id, coins=coins), uow=uow)


def send(
    uow,
    gift_id: str,
    quantity: int = 1,
    sender_id: str = "viewer",
    stream_id: str | None = None,
    rules: GiftingRules = RULES,
):
    return run(
        handlers.send_gift,
        SendGift(sender_id=sender_id, creator_id="creator", gift_id=gift_id, quantity=quantity, stream_id=stream_id),
        uow=uow,
        rules=rules,
    )


def test_a_viewer_buys_700_coins_sends_two_corgis_then_is_refused_a_lion(uow):
    buy(uow, "viewer", 700)
    sent = send(uow, "corgi", quantity=2)
    assert (sent.total_coins, sent.diamonds, sent.balance_after) == (598, 598, 102)
    with pytest.raises(InsufficientCoins):
        send(uow, "lion")
    assert uow.balance_of("viewer") == 102
    [(kind, data)] = uow.events()  # the refused Lion left no event
    assert (kind, data["creator_id"], data["coins"], data["diamonds"]) == ("gift.sent", "creator", 598, 598)


def test_a_chargeback_drives_the_wallet_below_zero_and_freezes_it_until_coins_are_bought(uow):
    buy(uow, "viewer", 700)
    send(uow, "concert")  # 500 coins spent before the chargeback arrives
    wallet = run(
        handlers.claw_back_purchase,
        ClawBackPurchase(purchase_id="p-1", chargeback_id="cb-1", user_id="viewer", coins=700),
        uow=uow,
    )
    assert (wallet.balance, wallet.status) == (-500, "frozen")
    with pytest.raises(WalletFrozen):
        send(uow, "rose")
    buy(uow, "viewer", 700, purchase_id="p-2")  # pays the 500 owed first
    assert run(handlers.wallet_of, "viewer", uow=uow).status == "active" and uow.balance_of("viewer") == 200
    assert send(uow, "rose").balance_after == 199


def test_the_ledger_lists_every_movement_newest_first_with_the_balance_after_each(uow):
    buy(uow, "viewer", 700)
    gift = send(uow, "corgi")
    run(
        handlers.claw_back_purchase,
        ClawBackPurchase(purchase_id="p-1", chargeback_id="cb-1", user_id="viewer", coins=700),
        uow=uow,
    )
    entries = run(handlers.ledger_of, "viewer", uow=uow, limit=10, before_id=None)
    assert [(e.kind, e.delta_coins, e.balance_after, e.reference) for e in entries] == [
        ("chargeback", -700, -299, "cb-1"),
        ("gift", -299, 401, gift.gift_tx_id),
        ("purchase", 700, 700, "p-1"),
    ]
    older = run(handlers.ledger_of, "viewer", uow=uow, limit=10, before_id=entries[1].entry_id)
    assert [e.kind for e in older] == ["purchase"]


@pytest.mark.parametrize(
    ("sender", "gift_id", "quantity", "error"),
    [
        ("creator", "rose", 1, SelfGift),
        ("viewer", "rose", 100, InvalidQuantity),
        ("viewer", "rose", 0, InvalidQuantity),
        ("viewer", "unicorn", 1, UnknownGift),
    ],
)
def test_a_gift_refused_by_its_own_terms_takes_no_coins_and_sends_no_event(uow, sender, gift_id, quantity, error):
    buy(uow, "viewer", 700)
    buy(uow, "creator", 700, purchase_id="p-2")
    with pytest.raises(error):
        send(uow, gift_id, quantity=quantity, sender_id=sender)
    assert (uow.balance_of("viewer"), uow.balance_of("creator"), uow.events()) == (700, 700, [])


def test_a_viewer_who_never_bought_has_an_empty_active_wallet_and_cannot_send_a_rose(uow):
    wallet = run(handlers.wallet_of, "newcomer", uow=uow)
    assert (wallet.balance, wallet.status) == (0, "active")
    with pytest.raises(InsufficientCoins):
        send(uow, "rose", sender_id="newcomer")
    assert uow.committed["wallets"] == {}


def test_the_creator_is_owed_the_configured_diamonds_per_coin(uow):
    buy(uow, "viewer", 700)
    sent = send(uow, "perfume", quantity=3, rules=GiftingRules(diamonds_per_coin=2))
    assert (sent.total_coins, sent.diamonds) == (60, 120)
    assert uow.events()[0][1]["diamonds"] == 120


def test_a_streams_leaderboard_ranks_gifters_by_coins(uow):
    for viewer, coins in (("ana", 700), ("bo", 700), ("cy", 700)):
        buy(uow, viewer, coins, purchase_id=f"p-{viewer}")
    send(uow, "rose", quantity=5, sender_id="ana", stream_id="live-1")
    send(uow, "corgi", sender_id="bo", stream_id="live-1")
    send(uow, "rose", quantity=3, sender_id="ana", stream_id="live-1")
    send(uow, "doughnut", sender_id="cy", stream_id="live-2")
    assert run(handlers.leaderboard, "live-1", uow=uow, limit=10) == [("bo", 299, 1), ("ana", 8, 8)]
    assert run(handlers.get_gift, uow.events()[0][1]["gift_tx_id"], uow=uow).sender_id == "ana"


def test_a_handler_never_commits_its_entry_point_does(uow):
    """The owner of the transaction (the web wrapper, the inbox) commits, never a handler: a gift,
    and the credit an inbox applies, stay invisible until their owner commits, and are gone if the
    owner fails after the handler returned (its inbox row, say)."""
    buy(uow, "viewer", 100)
    with pytest.raises(RuntimeError), uow:  # the owner opens, runs the handlers, then fails
        handlers.send_gift(
            SendGift(sender_id="viewer", creator_id="creator", gift_id="rose", quantity=1), uow=uow, rules=RULES
        )
        handlers.credit_purchase(CreditPurchase(purchase_id="p-2", user_id="viewer", coins=50), uow=uow)
        assert (uow.balance_of("viewer"), uow.events()) == (100, [])  # nothing committed yet
        raise RuntimeError("the owner fails before its commit")
    assert (uow.balance_of("viewer"), uow.events(), uow.commits) == (100, [], 1)
    with transaction(uow):
        handlers.send_gift(
            SendGift(sender_id="viewer", creator_id="creator", gift_id="rose", quantity=1), uow=uow, rules=RULES
        )
    assert uow.balance_of("viewer") == 99 and [kind for kind, _ in uow.events()] == ["gift.sent"]


def test_a_handler_outside_its_owners_transaction_fails_rather_than_write_nowhere(uow):
    with pytest.raises(AttributeError):
        handlers.credit_purchase(CreditPurchase(purchase_id="p-1", user_id="viewer", coins=50), uow=uow)
