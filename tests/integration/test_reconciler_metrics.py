"""What the reconciling processes report: the purchase reconciler's backlog and outcomes, and the
payout worker's pending withdrawals, unknown outcomes and outcomes of payouts sent again."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from services.payout.adapters.orm import creators, withdrawals
from services.payout.entrypoints.payout_worker import backlog_gauges, run_once
from services.purchase.entrypoints.reconciler import backlog_gauge
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared.clock import utcnow
from tests.integration.conftest import purchases_age
from tests.integration.test_payout_api import earn, register
from tests.integration.test_tracing import buy
from tests.support.processors import FakeCardProcessor, FakePayoutProcessor

pytestmark = pytest.mark.integration


def gauges(collect) -> dict[str, float]:
    return {name: value for name, _doc, _labels, value in collect()}


def test_the_reconciler_reports_its_backlog_and_each_outcome(make_service, auth_for):
    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    assert buy(client, auth_for("purchase"), token="tok_timeout").status_code == 503  # charged, outcome unknown
    found = gauges(backlog_gauge(svc))
    assert found["coins_reconciler_backlog"] == 0  # not yet past the bound
    assert 0 <= found["coins_reconciler_oldest_age_seconds"] < 60 and found["coins_purchases_held"] == 0
    purchases_age(svc, timedelta(hours=1))
    found = gauges(backlog_gauge(svc))
    assert found["coins_reconciler_backlog"] == 1 and found["coins_reconciler_oldest_age_seconds"] >= 3600
    outcomes: list[str] = []
    schedule = svc.settings.schedule
    assert reconcile_purchases(uow=svc.uow(), processor=processor, schedule=schedule, on_outcome=outcomes.append)
    assert outcomes == ["completed"]
    assert gauges(backlog_gauge(svc)) == {
        "coins_reconciler_backlog": 0,
        "coins_reconciler_oldest_age_seconds": 0,
        "coins_purchases_held": 0,
    }


def test_the_payout_worker_reports_pending_unknown_and_held_payouts_and_their_outcomes(make_service, auth_for):
    svc, client = make_service("payout", processor=FakePayoutProcessor())
    auth = auth_for("payout")
    assert register(client, auth, method="paypal", account="error@example.com").status_code == 201
    earn(svc, "creator", 30_000)
    body = {"creator_id": "creator", "amount_minor": 10_000}
    assert (
        client.post("/v1/withdrawals", json=body, headers=auth(**{"Idempotency-Key": str(uuid.uuid4())})).status_code
        == 201
    )
    assert gauges(backlog_gauges(svc)) == {
        "coins_payouts_pending": 1,
        "coins_reconciler_backlog": 0,
        "coins_payouts_oldest_unknown_age_seconds": 0,
        "coins_payouts_held": 0,
    }

    def next_check_comes():
        with svc.engine.begin() as conn:
            conn.execute(sa.update(withdrawals).values(next_check_at=utcnow() - timedelta(seconds=1)))

    def sample(name: str, **labels):
        return REGISTRY.get_sample_value(name, {"service": "payout", **labels}) or 0

    still = sample("coins_reconciler_outcomes_total", outcome="still_unknown")
    assert run_once(svc) == 1  # sent: the processor cannot say
    reported = gauges(backlog_gauges(svc))
    assert (reported["coins_payouts_pending"], reported["coins_reconciler_backlog"]) == (1, 1)
    assert 0 < reported["coins_payouts_oldest_unknown_age_seconds"] < 60
    next_check_comes()
    assert run_once(svc) == 1  # looked up, none found, its send may still land: the reconciler's outcome says so
    assert sample("coins_reconciler_outcomes_total", outcome="still_unknown") == still + 1

    held = sample("coins_payouts_held_total", reason="under_review")
    register(client, auth, creator_id="watched")
    earn(svc, "watched", 30_000)
    body = {"creator_id": "watched", "amount_minor": 10_000}
    client.post("/v1/withdrawals", json=body, headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}))
    with svc.engine.begin() as conn:
        conn.execute(sa.update(creators).where(creators.c.creator_id == "watched").values(under_review=True))
    assert run_once(svc) == 1  # its turn: held, not paid
    assert gauges(backlog_gauges(svc))["coins_payouts_held"] == 1
    assert sample("coins_payouts_held_total", reason="under_review") == held + 1
