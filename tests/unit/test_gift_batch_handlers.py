"""A batch of gifts decided item by item, in order, as if each were sent alone: told as money
stories on the in-memory unit of work (tests/fakes/gifting.py; its handler never commits)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer import handlers
from services.gifting.service_layer.handlers import BatchItem
from shared.auth.onbehalf import UserGrant
from shared.errors import validation_problem
from shared.idempotency import KeyedRequest
from shared.messaging.uow import run
from tests.fakes.gifting import FakeGiftingUnitOfWork

RULES = GiftingRules()


@pytest.fixture
def uow() -> FakeGiftingUnitOfWork:
    return FakeGiftingUnitOfWork()


def buy(uow, user_id: str, coins: int, purchase_id: str = "p-1") -> None:
    run(handlers.credit_purchase, CreditPurchase(purchase_id=purchase_id, user_id=user_id, coins=coins), uow=uow)


def gift(key: str, *, sender: str = "ann", quantity: int = 1, creator: str = "cara", grant=None) -> BatchItem:
    fields = {"sender_id": sender, "creator_id": creator, "gift_id": "rose", "quantity": quantity}
    request = KeyedRequest.of(caller="live", key=key, method="POST", path="/v1/gifts", body=json.dumps(fields).encode())
    return BatchItem(request, gift=SendGift(**fields), grant=grant)


def grant_for(user: str, jti: str, max_coins: int = 100) -> UserGrant:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    return UserGrant("gateway", jti, user, "live", expires, {"max_coins": max_coins})


def send(uow, *items: BatchItem) -> list[handlers.BatchOutcome]:
    return run(handlers.send_gift_batch, list(items), uow=uow, rules=RULES)


def outcomes(results) -> list[str]:
    return [r.outcome for r in results]


def test_one_senders_gifts_are_taken_in_order_and_never_overdraw(uow):
    buy(uow, "ann", 10)
    results = send(uow, gift("a", quantity=6), gift("b", quantity=6), gift("c", quantity=3))
    assert outcomes(results) == ["created", "insufficient-coins", "created"]
    assert [r.status for r in results] == [201, 409, 201]
    assert [r.gift.balance_after for r in results if r.gift] == [4, 1]
    assert uow.balance_of("ann") == 1
    assert [data["coins"] for _, data in uow.events()] == [6, 3]  # one event per gift made, none for the refusal
    assert uow.commits == 2  # the purchase, the batch: its owner's one commit


def test_a_retried_batch_replays_its_gifts_and_answers_a_passing_refusal_afresh(uow):
    buy(uow, "ann", 10)
    batch = [gift("a", quantity=6), gift("b", quantity=6), gift("c", quantity=3)]
    first = send(uow, *batch)
    buy(uow, "ann", 5, purchase_id="p-2")
    again = send(uow, *batch)
    assert outcomes(again) == ["replayed", "created", "replayed"]
    assert again[0].gift.gift_tx_id == first[0].gift.gift_tx_id
    assert uow.balance_of("ann") == 0 and len(uow.events()) == 3


def test_a_frozen_wallet_refuses_and_the_other_senders_gifts_go_through(uow):
    buy(uow, "ann", 5)
    buy(uow, "bob", 5, purchase_id="p-2")
    run(
        handlers.claw_back_purchase,
        ClawBackPurchase(purchase_id="p-1", chargeback_id="cb", user_id="ann", coins=9),
        uow=uow,
    )
    results = send(uow, gift("a"), gift("b", sender="bob"), gift("c", sender="nobody"))
    assert outcomes(results) == ["frozen", "created", "insufficient-coins"]
    assert results[0].status == 403 and results[0].problem["type"].endswith("/wallet-frozen")


def test_two_items_with_one_key_are_one_gift_and_another_body_under_it_is_refused(uow):
    buy(uow, "ann", 10)
    results = send(uow, gift("k"), gift("k"), gift("k", quantity=2))
    assert outcomes(results) == ["created", "replayed", "key-reused"]
    assert results[1].gift.gift_tx_id == results[0].gift.gift_tx_id
    assert results[2].status == 422
    assert uow.balance_of("ann") == 9


def test_a_key_refused_for_coins_in_a_batch_is_tried_again_by_its_next_item(uow):
    buy(uow, "ann", 3)
    results = send(uow, gift("big", quantity=5), gift("big", quantity=5))
    assert outcomes(results) == ["insufficient-coins", "insufficient-coins"]  # asked afresh, still short


def test_an_invalid_item_is_kept_by_its_key_and_replayed(uow):
    buy(uow, "ann", 10)
    bad = BatchItem(gift("x").request, refused=validation_problem({"gift_id": ["Must be one of: rose."]}))
    first = send(uow, bad, gift("y", creator="ann"))
    assert outcomes(first) == ["invalid", "invalid"]
    assert first[1].problem["type"].endswith("/self-gift")
    again = send(uow, gift("x"), gift("y", creator="ann"), gift("x", quantity=2))
    assert outcomes(again) == ["invalid", "invalid", "key-reused"]  # the same requests: their refusals replayed
    assert (again[0].problem, again[1].problem) == (first[0].problem, first[1].problem)
    assert uow.balance_of("ann") == 10


def test_grants_are_held_to_their_limits_and_spent_once_across_the_batch(uow):
    buy(uow, "ann", 10)
    once = grant_for("ann", "j1")
    results = send(
        uow,
        gift("a", grant=once),
        gift("b", grant=once),
        gift("c", quantity=3, grant=grant_for("ann", "j2", max_coins=2)),
        gift("d", quantity=20, grant=grant_for("ann", "j3")),
    )
    assert outcomes(results) == ["created", "grant-refused", "grant-refused", "insufficient-coins"]
    assert [r.problem["type"].rsplit("/", 1)[-1] for r in results[1:3]] == ["grant-replayed", "grant-exceeded"]
    assert uow.committed["grants"] == {("gateway", "j1")}  # a refused item spends no grant
    assert outcomes(send(uow, gift("e", grant=once))) == ["grant-refused"]  # spent in a committed batch


def test_a_batch_whose_owner_does_not_commit_leaves_nothing(uow):
    buy(uow, "ann", 10)
    with uow:
        handlers.send_gift_batch([gift("a")], uow=uow, rules=RULES)
    assert uow.balance_of("ann") == 10 and uow.events() == [] and uow.committed["keys"] == {}
