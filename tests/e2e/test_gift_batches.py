"""Batches of gifts through the real processes (gunicorn, relay, Kafka, payout's consumer): racing
batches from the same viewers never overdraw, each gift reaches its creator's diamonds, and the
conservation audit passes."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.stories import audit_passes as run_audit
from tests.support.stories import buy, spendable, unique, wallet

pytestmark = pytest.mark.e2e


def test_racing_batches_from_the_same_viewers_never_overdraw_and_the_books_balance(api, stack, caller_keys):
    viewers = [unique("viewer") for _ in range(5)]
    for viewer in viewers:
        buy(api, viewer, package_id="coins_700")
    for viewer in viewers:
        spendable(api, viewer, 700)
    creators = [unique("creator") for _ in range(3)]

    def batch(turn: int):
        # 6 gifts of 100 coins from each viewer per batch, four batches at once: 2,400 asked of 700
        gifts = [
            {
                "sender_id": viewer,
                "creator_id": creators[(turn + i) % len(creators)],
                "gift_id": "confetti",
                "idempotency_key": uuid.uuid4().hex,
            }
            for i, viewer in enumerate(viewers * 6)
        ]
        return api.post("gifting", "/v1/gift-batches", {"gifts": gifts}, key=None)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(batch, range(4)))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    outcomes = [item["outcome"] for r in responses for item in r.json()["results"]]
    assert outcomes.count("created") == 7 * len(viewers)  # 700 coins: seven gifts of 100 each
    assert set(outcomes) == {"created", "insufficient-coins"}
    assert all(wallet(api, viewer)["balance"] == 0 for viewer in viewers)
    run_audit(stack, caller_keys)
