"""A batch of gifts decided item by item, in order, as if each were sent alone: the handler's money
stories on the in-memory unit of work (tests/fakes/gifting.py; its handler never commits), then
the items' Idempotency-Keys, which the entry point judges and settles (shared.idempotency.http
`answer_items`), told on a SQLite key table in memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.errors import InsufficientCoins, WalletFrozen
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer import handlers
from shared.auth.onbehalf import UserGrant
from shared.db.tables import add_infrastructure_tables
from shared.errors import DomainError, Problem
from shared.idempotency import Answer, KeyedRequest
from shared.idempotency.http import answer_items, refusal
from shared.idempotency.store import KeyStore
from shared.messaging.uow import run, transaction
from tests.fakes.gifting import FakeGiftingUnitOfWork

RULES = GiftingRules()


@pytest.fixture
def uow() -> FakeGiftingUnitOfWork:
    return FakeGiftingUnitOfWork()


def buy(uow, user_id: str, coins: int, purchase_id: str = "p-1") -> None:
    run(handlers.credit_purchase, CreditPurchase(purchase_id=purchase_id, user_id=user_id, coins=coins), uow=uow)


def gift(*, sender: str = "ann", quantity: int = 1, creator: str = "cara") -> SendGift:
    return SendGift(sender_id=sender, creator_id=creator, gift_id="rose", quantity=quantity)


def grant_for(user: str, jti: str, max_coins: int = 100) -> UserGrant:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    return UserGrant("gateway", jti, user, "live", expires, {"max_coins": max_coins})


def send(uow, *gifts: SendGift | tuple[SendGift, UserGrant]) -> list:
    """Each gift sent in order in one batch, whose owner commits: its GiftTransaction or refusal."""
    pairs = [g if isinstance(g, tuple) else (g, None) for g in gifts]
    results = []
    with transaction(uow):
        batch = handlers.GiftBatch(pairs, uow=uow, rules=RULES)
        for cmd, grant in pairs:
            try:
                results.append(batch.send(cmd, grant))
            except (DomainError, Problem) as exc:
                results.append(exc)
        batch.write()
    return results


def test_one_senders_gifts_are_taken_in_order_and_never_overdraw(uow):
    buy(uow, "ann", 10)
    made, refused, last = send(uow, gift(quantity=6), gift(quantity=6), gift(quantity=3))
    assert isinstance(refused, InsufficientCoins)
    assert [made.balance_after, last.balance_after] == [4, 1]
    assert uow.balance_of("ann") == 1
    assert [data["coins"] for _, data in uow.events()] == [6, 3]  # one event per gift made, none for the refusal
    assert uow.commits == 2  # the purchase, the batch: its owner's one commit


def test_a_frozen_wallet_refuses_and_the_other_senders_gifts_go_through(uow):
    buy(uow, "ann", 5)
    buy(uow, "bob", 5, purchase_id="p-2")
    clawback = ClawBackPurchase(purchase_id="p-1", chargeback_id="cb", user_id="ann", coins=9)
    run(handlers.claw_back_purchase, clawback, uow=uow)
    frozen, made, nobody = send(uow, gift(), gift(sender="bob"), gift(sender="nobody"))
    assert isinstance(frozen, WalletFrozen) and isinstance(nobody, InsufficientCoins)
    assert made.balance_after == 4 and uow.balance_of("bob") == 4


def test_grants_are_held_to_their_limits_and_spent_once_across_the_batch(uow):
    buy(uow, "ann", 10)
    once = grant_for("ann", "j1")
    results = send(
        uow,
        (gift(), once),
        (gift(), once),
        (gift(quantity=3), grant_for("ann", "j2", max_coins=2)),
        (gift(quantity=20), grant_for("ann", "j3")),
    )
    assert [getattr(r, "code", "made") for r in results] == [
        "made",
        "grant-replayed",
        "grant-exceeded",
        "insufficient-coins",
    ]
    assert uow.committed["grants"] == {("gateway", "j1")}  # a refused item spends no grant
    assert send(uow, (gift(), once))[0].code == "grant-replayed"  # spent in a committed batch


def test_a_batch_whose_owner_does_not_commit_leaves_nothing(uow):
    buy(uow, "ann", 10)
    with uow:
        batch = handlers.GiftBatch([(gift(), None)], uow=uow, rules=RULES)
        batch.send(gift())
        batch.write()
    assert uow.balance_of("ann") == 10 and uow.events() == [] and uow.committed["gifts"] == {}


# -- the items' keys ---------------------------------------------------------------------------------
@pytest.fixture
def keys():
    """A key store on a SQLite table in memory, and `answer(items, decide)`: the items answered in
    one committed transaction, each item (key, body) decided by decide(body) when its key lets it."""
    engine = sa.create_engine("sqlite://")
    table = add_infrastructure_tables(sa.MetaData())["idempotency_keys"]
    table.create(engine)
    store = KeyStore(table)

    def answer(items: list[tuple[str | None, dict]], decide) -> list[Answer]:
        requests = [
            KeyedRequest.of_json(caller="live", key=key, method="POST", path="/v1/gifts", value=body)
            if key is not None
            else None
            for key, body in items
        ]
        with engine.begin() as conn:
            return answer_items(conn, store, requests, lambda n: decide(items[n][1]), path="/v1/gifts")

    return answer


def made(body: dict) -> Answer:
    return Answer(201, None, f"gift-{body['n']}")


def short(_body: dict) -> Answer:
    return refusal(InsufficientCoins("Not enough coins."), "/v1/gifts")


def invalid(_body: dict) -> Answer:
    return refusal(Problem(422, "Validation failed", code="validation-error"), "/v1/gifts")


def test_a_retried_batch_replays_what_its_keys_kept_and_answers_a_passing_refusal_afresh(keys):
    items = [("a", {"n": 1}), ("b", {"n": 2})]
    first = keys(items, lambda body: made(body) if body["n"] == 1 else short(body))
    assert [(a.status, a.replayed) for a in first] == [(201, False), (409, False)]
    again = keys(items, made)
    assert [(a.status, a.resource_id, a.replayed) for a in again] == [(201, "gift-1", True), (201, "gift-2", False)]


def test_two_items_with_one_key_are_one_answer_and_another_body_under_it_is_refused(keys):
    answers = keys([("k", {"n": 1}), ("k", {"n": 1}), ("k", {"n": 2})], made)
    assert [(a.status, a.resource_id, a.replayed) for a in answers[:2]] == [
        (201, "gift-1", False),
        (201, "gift-1", True),
    ]
    assert answers[2].status == 422 and json.loads(answers[2].body)["type"].endswith("/idempotency-key-reused")


def test_a_key_refused_for_coins_is_decided_again_by_its_next_item(keys):
    decided = []
    answers = keys([("big", {"n": 1}), ("big", {"n": 1})], lambda body: decided.append(body) or short(body))
    assert len(decided) == 2 and [a.status for a in answers] == [409, 409]


def test_an_invalid_item_is_kept_by_its_key_and_replayed_and_a_keyless_one_is_decided_alone(keys):
    first = keys([("x", {"n": 1}), (None, {"n": 2})], invalid)
    assert [(a.status, a.replayed) for a in first] == [(422, False), (422, False)]
    again = keys([("x", {"n": 1})], made)
    assert (again[0].status, again[0].replayed, again[0].body) == (422, True, first[0].body)
