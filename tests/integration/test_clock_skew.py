"""A background loop that takes claims (the payout worker, the purchase reconciler) takes none while
its host's clock is more than MAX_CLOCK_SKEW_S from the database's: a lease written by one host's
clock would end early by another's, and a second holder could send while the first still sends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import shared.db.engines as engines
from services.payout.entrypoints import payout_worker
from shared.clock import utcnow
from shared.db.engines import MAX_CLOCK_SKEW_S, ClockCheck
from shared.runtime.health import ProcessHealth
from tests.integration.test_payout_api import earn, register, withdraw

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    return auth_for("payout")


def ahead_by(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(engines, "utcnow", lambda: utcnow() + timedelta(seconds=seconds))


def test_the_check_reads_the_databases_clock(make_service, monkeypatch):
    svc, _client = make_service("payout", backend="postgres")
    assert ClockCheck(svc.engine).ok()
    ahead_by(monkeypatch, MAX_CLOCK_SKEW_S + 9)
    skewed = ClockCheck(svc.engine)
    assert not skewed.ok() and "+10." in skewed.refusal()


def test_a_payout_worker_whose_clock_runs_ahead_claims_nothing(make_service, auth, monkeypatch):
    svc, client = make_service("payout", backend="postgres", PAYOUT_METHOD_CHANGE_HOLD_HOURS="0")
    assert register(client, auth).status_code == 201
    earn(svc, "creator", 40_000)
    asked = withdraw(client, auth, 10_000).get_json()["withdrawal_id"]
    ahead_by(monkeypatch, 120)
    stop, health = threading.Event(), ProcessHealth()
    worker = threading.Thread(target=payout_worker.loop, args=(svc, stop, health))
    worker.start()
    try:
        stop.wait(0.5)
    finally:
        stop.set()
        worker.join(10)
    assert svc.processor.calls[asked] == 0
    verdict = health.ready()
    assert not verdict.ok and "from the database's" in str(verdict.body), verdict.body
