"""What the reconciling processes report: the purchase reconciler's backlog and outcomes, and the
payout worker's pending withdrawals, unknown outcomes and outcomes of payouts sent again."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from services.payout.adapters.orm import withdrawals
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


def test_the_payout_worker_reports_pending_and_unknown_payouts_and_their_outcomes(make_service, auth_for):
    svc, client = make_service("payout", processor=FakePayoutProcessor())
    auth = auth_for("payout")
    assert register(client, auth, method="paypal", account="error@example.com").status_code == 201
    earn(svc, "creator", 30_000)
    body = {"creator_id": "creator", "amount_minor": 10_000}
    assert (
        client.post("/v1/withdrawals", json=body, headers=auth(**{"Idempotency-Key": str(uuid.uuid4())})).status_code
        == 201
    )
    assert gauges(backlog_gauges(svc)) == {"coins_payouts_pending": 1, "coins_reconciler_backlog": 0}

    def lease_lapses():
        with svc.engine.begin() as conn:
            conn.execute(sa.update(withdrawals).values(claimed_until=utcnow() - timedelta(seconds=1)))

    still = REGISTRY.get_sample_value(
        "coins_reconciler_outcomes_total", {"service": "payout", "outcome": "still_unknown"}
    )
    assert run_once(svc) == 1  # sent: the processor cannot say
    lease_lapses()
    assert gauges(backlog_gauges(svc)) == {"coins_payouts_pending": 1, "coins_reconciler_backlog": 1}
    assert run_once(svc) == 1  # sent again, still unknown: the reconciler's outcome says so
    assert gauges(backlog_gauges(svc)) == {"coins_payouts_pending": 1, "coins_reconciler_backlog": 1}  # in lease
    after = REGISTRY.get_sample_value(
        "coins_reconciler_outcomes_total", {"service": "payout", "outcome": "still_unknown"}
    )
    assert after == (still or 0) + 1
