"""A user grant against the running processes: racing replays of one grant through the gifting
web's gunicorn workers (separate processes) make one gift; the client's retry with its key gets
the first answer again."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from coinsctl.tokens import issue_token
from tests.support.stories import buy, spendable, unique, wallet

pytestmark = pytest.mark.e2e


def test_racing_replays_of_one_grant_through_every_worker_make_one_gift(stack, api, caller_keys):
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700)
    grant = issue_token(
        caller_keys.signing_key("gateway"),
        audience="gifting",
        subject=viewer,
        authorized_party="live",
        limits={"max_coins": 5, "creator_id": creator},
    )
    body = {"sender_id": viewer, "creator_id": creator, "gift_id": "rose", "quantity": 5}
    keys = [str(uuid.uuid4()) for _ in range(12)]
    start, answers = threading.Barrier(len(keys)), {}

    def send(key: str) -> None:
        headers = caller_keys.headers("live", service="gifting", **{"Idempotency-Key": key, "X-User-Grant": grant})
        start.wait()
        answers[key] = requests.post(stack.url("gifting") + "/v1/gifts", json=body, headers=headers, timeout=30)

    threads = [threading.Thread(target=send, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [201] + [403] * (len(keys) - 1), [a.text for a in answers.values()]
    assert all(a.json()["type"].endswith("/grant-replayed") for a in answers.values() if a.status_code == 403)
    [(first_key, first)] = [(k, a) for k, a in answers.items() if a.status_code == 201]
    headers = caller_keys.headers("live", service="gifting", **{"Idempotency-Key": first_key, "X-User-Grant": grant})
    retry = requests.post(stack.url("gifting") + "/v1/gifts", json=body, headers=headers, timeout=30)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert wallet(api, viewer)["balance"] == 695
