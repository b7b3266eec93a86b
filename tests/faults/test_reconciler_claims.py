"""Two purchase reconcilers and a buyer's retry at once, over pending purchases whose charges
were taken and never answered: the first reconciler's lookup of one purchase hangs (an injected
slow processor, released by an event). Nobody else looks that purchase up or charges it while
the claim is live; once the claim lapsed the second reconciler settles it, and the first one's
late answer settles nothing. Each purchase is completed once: one `purchase.completed` each."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.purchase.service_layer.reconcile import reconcile_purchases
from tests.integration.conftest import build_service, outbox_events, purchases_age
from tests.integration.test_purchase_api import order
from tests.support.processors import FakeCardProcessor

pytestmark = pytest.mark.faults


@pytest.fixture(autouse=True)
def audited():
    """These cases run the services in process on their own database, not the fault suite's stack."""
    yield


class SlowFirstLookup(FakeCardProcessor):
    """The first lookup of `slow_id` hangs until `release` is set (`entered` says it started)."""

    def __init__(self):
        super().__init__()
        self.slow_id: str | None = None
        self.entered, self.release = threading.Event(), threading.Event()
        self.started: Counter = Counter()

    def lookup(self, *, payment_id: str):
        with self.lock:
            self.started[payment_id] += 1
            hang = payment_id == self.slow_id and not self.entered.is_set()
        if hang:
            self.entered.set()
            assert self.release.wait(30), "the test never released the slow lookup"
        return super().lookup(payment_id=payment_id)


def test_two_reconcilers_and_a_retry_settle_each_purchase_once_under_per_item_claims(pg_url, auth_for):
    auth = auth_for("purchase")
    processor = SlowFirstLookup()
    svc, client = build_service("purchase", pg_url("purchase"), processor=processor)
    try:
        keys = [str(uuid.uuid4()) for _ in range(3)]
        body = order(payment={"method": "card", "token": "tok_timeout"})  # charged, the answer lost
        for k in keys:
            assert client.post("/v1/purchases", json=body, headers=auth(**{"Idempotency-Key": k})).status_code == 503
        purchases_age(svc, timedelta(hours=1))  # all due, and past the bound
        first, *others = sorted(processor.charges, key=lambda p: processor_order(svc, p))
        processor.slow_id = first
        outcomes = {"a": [], "b": []}

        def sweep(name: str) -> int:
            return reconcile_purchases(
                uow=svc.uow(), processor=processor, schedule=svc.settings.schedule, on_outcome=outcomes[name].append
            )

        with ThreadPoolExecutor(1) as pool:
            a = pool.submit(sweep, "a")  # claims the first due purchase, and its lookup hangs
            assert processor.entered.wait(30)
            assert sweep("b") == 2  # the others; the one reconciler A holds is left alone
            retry = client.post("/v1/purchases", json=body, headers=auth(**{"Idempotency-Key": keys[0]}))
            assert retry.status_code == 503  # A is looking it up: the buyer is told to retry, nothing is sent
            assert (processor.calls[first], processor.started[first]) == (1, 1)
            purchases_age(svc, svc.settings.claim_for + timedelta(seconds=1))  # A's claim lapses
            assert sweep("b") == 1  # B takes it over and completes it
            processor.release.set()
            assert a.result(timeout=30) == 0  # A's late answer settles nothing
        assert outcomes == {"a": [], "b": ["completed"] * 3}
        assert processor.calls[first] == 1 and processor.started[first] == 2  # A's, then B's once A's claim lapsed
        completed = [e["data"]["purchase_id"] for e in outbox_events(svc) if e["type"] == "purchase.completed"]
        assert sorted(completed) == sorted([first, *others])  # each credited exactly once
        again = client.post("/v1/purchases", json=body, headers=auth(**{"Idempotency-Key": keys[0]}))
        assert again.status_code == 201 and again.get_json()["status"] == "completed"
    finally:
        processor.release.set()
        svc.engine.dispose()


def processor_order(svc, purchase_id: str):
    """Where a purchase stands in the reconciler's queue: its next lookup time."""
    with svc.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT next_check_at, purchase_id FROM purchases WHERE purchase_id = %s", (purchase_id,)
        ).one()
