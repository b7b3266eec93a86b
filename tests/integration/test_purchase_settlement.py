"""Purchases settled after the fact, on PostgreSQL through the API: chargebacks reported while a
charge's outcome is unknown, answers the processor gets wrong, a buyer's retry that looks the
charge up, and which refusals an Idempotency-Key keeps (shared.idempotency.keeps)."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner

from services.purchase.adapters.processor import APPROVED, UNKNOWN, ChargeResult
from services.purchase.service_layer.reconcile import reconcile_purchases
from shared.idempotency import PASSING_REFUSALS, keeps
from tests.integration.conftest import outbox_events, purchases_age
from tests.integration.test_purchase_api import order
from tests.support.processors import FakeCardProcessor, tries_writing_when_asked

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    return auth_for("purchase")


@pytest.fixture
def purchase(make_service):
    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    return svc, client, processor


def buy(client, auth, token: str, key: str | None = None, **overrides):
    body = order(payment={"method": "card", "token": token}, **overrides)
    return client.post("/v1/purchases", json=body, headers=auth(**{"Idempotency-Key": key or str(uuid.uuid4())}))


def report_chargeback(client, auth, purchase_id: str, key: str):
    body = {"purchase_id": purchase_id, "reason": "fraudulent"}
    return client.post("/v1/chargebacks", json=body, headers=auth("processor", **{"Idempotency-Key": key}))


def sweep_later(svc, processor) -> int:
    """The reconciler's sweep an hour later."""
    purchases_age(svc, timedelta(hours=1))
    return reconcile_purchases(uow=svc.uow(), processor=processor, schedule=svc.settings.schedule)


def totals(client, auth) -> dict:
    return client.get("/v1/internal/totals", headers=auth("ops")).get_json()


def the_purchase(client, auth) -> dict:
    [found] = client.get("/v1/users/viewer-1/purchases", headers=auth()).get_json()["purchases"]
    return found


def test_a_chargeback_while_the_charge_is_unknown_is_recorded_and_reverses_the_purchase_once_it_completes(
    purchase, auth
):
    svc, client, processor = purchase
    assert buy(client, auth, "tok_timeout").status_code == 503  # the card is charged, the answer lost
    purchase_id = the_purchase(client, auth)["purchase_id"]
    first = report_chargeback(client, auth, purchase_id, "cb-1")
    assert first.status_code == 202 and first.get_json()["status"] == "pending"
    retried = report_chargeback(client, auth, purchase_id, "cb-1")  # the processor's notification, again
    assert (retried.status_code, retried.get_json()) == (202, first.get_json())
    assert report_chargeback(client, auth, purchase_id, "cb-other").status_code == 409  # one per purchase
    assert sweep_later(svc, processor) == 1
    assert the_purchase(client, auth)["status"] == "reversed"
    assert [e["type"] for e in outbox_events(svc)] == ["purchase.completed", "purchase.reversed"]
    again = report_chargeback(client, auth, purchase_id, "cb-1")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (202, "true")
    assert len(outbox_events(svc)) == 2  # one reversal, whatever the retries
    figures = totals(client, auth)
    assert (figures["coins_bought"], figures["coins_reversed"], figures["chargebacks"]) == (700, 700, 1)


def test_a_chargeback_while_pending_of_a_purchase_then_declined_is_void(purchase, auth):
    svc, client, processor = purchase
    assert buy(client, auth, "tok_error").status_code == 503  # nothing taken
    purchase_id = the_purchase(client, auth)["purchase_id"]
    assert report_chargeback(client, auth, purchase_id, "cb-1").get_json()["status"] == "pending"
    assert sweep_later(svc, processor) == 1
    assert the_purchase(client, auth)["status"] == "declined" and outbox_events(svc) == []
    figures = totals(client, auth)
    assert (figures["chargebacks_void"], figures["chargebacks"], figures["coins_reversed"]) == (1, 0, 0)
    assert report_chargeback(client, auth, purchase_id, "cb-1").get_json()["status"] == "pending"  # as first answered


def test_a_buyers_retry_looks_the_charge_up_and_neither_charges_again_nor_moves_the_schedule(purchase, auth):
    svc, client, processor = purchase
    assert buy(client, auth, "tok_timeout", key="K").status_code == 503
    purchase_id = the_purchase(client, auth)["purchase_id"]
    with svc.engine.connect() as conn:
        before = conn.exec_driver_sql(
            "SELECT attempted_at, next_check_at FROM purchases WHERE purchase_id = %s", (purchase_id,)
        ).one()
    again = buy(client, auth, "tok_timeout", key="K")
    assert again.status_code == 201 and again.get_json()["status"] == "completed"
    assert (processor.calls[purchase_id], processor.lookups[purchase_id]) == (1, 1)
    with svc.engine.connect() as conn:
        after = conn.exec_driver_sql(
            "SELECT attempted_at, next_check_at FROM purchases WHERE purchase_id = %s", (purchase_id,)
        ).one()
    assert after == before


def test_a_charge_answered_with_the_wrong_amount_is_held_credits_nothing_and_coinsctl_resolves_it(
    purchase, auth, monkeypatch
):
    from coinsctl.cli import main

    svc, client, processor = purchase
    held = buy(client, auth, "tok_one_cent")
    assert held.status_code == 202 and held.get_json()["status"] == "held"
    assert outbox_events(svc) == [] and totals(client, auth)["purchases_held"] == 1
    monkeypatch.setenv("PURCHASE_DATABASE_URL", svc.engine.url.render_as_string(hide_password=False))
    asks_the(processor, monkeypatch)
    listed = CliRunner().invoke(main, ["purchases", "held"])
    assert listed.exit_code == 0 and "amount 1 (asked 999)" in listed.output
    purchase_id = held.get_json()["purchase_id"]
    as_json = CliRunner().invoke(main, ["purchases", "held", "--json"])
    assert [(p["purchase_id"], p["status"]) for p in json.loads(as_json.stdout)] == [(purchase_id, "held")]
    assert CliRunner().invoke(main, ["purchases", "resolve", purchase_id]).exit_code == 2  # say which
    refused = CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--complete"])
    assert refused.exit_code == 1 and "amount 1 (asked 999)" in refused.output  # 700 coins for a cent: never
    resolved = CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--decline"])
    assert resolved.exit_code == 0 and '"status": "declined"' in resolved.output
    assert outbox_events(svc) == []
    assert CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--decline"]).exit_code == 1  # not held


def asks_the(processor, monkeypatch) -> None:
    """`coinsctl purchases resolve` asks this in-process processor instead of one at a URL."""
    from coinsctl.audit import books

    monkeypatch.setattr(books, "sandbox_processors", lambda card_url, payout_url: books.Processors(processor, None))


def test_a_held_purchase_declined_after_its_chargeback_says_there_is_nothing_to_refund(purchase, auth, monkeypatch):
    """The card holder got the money back through a chargeback reported while the purchase was
    held: declined on review, the chargeback is void, and the operator is told not to refund the
    charge by hand as well (the runbook's step for a declined charge)."""
    from coinsctl.cli import main

    svc, client, processor = purchase
    purchase_id = buy(client, auth, "tok_one_cent").get_json()["purchase_id"]
    assert report_chargeback(client, auth, purchase_id, "cb-held").status_code in (201, 202)
    monkeypatch.setenv("PURCHASE_DATABASE_URL", svc.engine.url.render_as_string(hide_password=False))
    asks_the(processor, monkeypatch)
    declined = CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--decline"])
    assert declined.exit_code == 0, declined.output
    assert '"status": "declined"' in declined.output and '"chargeback_status": "void"' in declined.output
    assert "refund nothing by hand" in declined.output


def test_resolve_asks_the_processor_with_no_transaction_open(make_service, auth, monkeypatch):
    """On SQLite an open transaction holds the database's write lock: the purchase API and its
    reconciler would wait on an operator's command for as long as the processor takes to answer."""
    from coinsctl.cli import main

    processor = FakeCardProcessor()
    svc, client = make_service("purchase", backend="sqlite", processor=processor)
    purchase_id = buy(client, auth, "tok_one_cent").get_json()["purchase_id"]
    monkeypatch.setenv("PURCHASE_DATABASE_URL", svc.engine.url.render_as_string(hide_password=False))
    asks_the(processor, monkeypatch)
    tries = tries_writing_when_asked(processor, svc.engine.url.database)
    refused = CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--complete"])
    assert refused.exit_code == 1 and "amount 1 (asked 999)" in refused.output, refused.output
    assert tries == ["free"]


class LongWordedProcessor(FakeCardProcessor):
    """Answers as the fake does, with a reference and a decline code longer than their columns
    (or, `nul`: holding a NUL, which PostgreSQL refuses in any text)."""

    def __init__(self, nul: bool = False):
        super().__init__()
        self.nul = nul

    def charge(self, **asked) -> ChargeResult:
        return self._worded(super().charge(**asked))

    def lookup(self, **asked) -> ChargeResult | None:
        return self._worded(super().lookup(**asked))

    def _worded(self, result):
        if result is None or result.outcome == UNKNOWN:
            return result
        if result.outcome == APPROVED:
            return dataclasses.replace(result, reference="ch_\x00x" if self.nul else "ch_" + "x" * 120)
        return dataclasses.replace(result, decline_code="do_not\x00honor" if self.nul else "do_not_honor_" + "y" * 60)


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_an_answer_too_long_to_keep_holds_an_approved_charge_and_declines_a_declined_one(make_service, auth, backend):
    """An approved charge whose reference is longer than we keep is held for an operator (the money
    was taken: never a 500 leaving it pending); a decline's code is kept cut to its column."""
    svc, client = make_service("purchase", backend=backend, processor=LongWordedProcessor())
    held = buy(client, auth, "tok_visa")
    assert held.status_code == 202 and held.get_json()["status"] == "held", held.get_data(as_text=True)
    declined = buy(client, auth, "tok_declined")
    assert declined.status_code == 402, declined.get_data(as_text=True)
    with svc.engine.connect() as conn:
        kept = conn.exec_driver_sql("SELECT status, hold_reason, processor_ref, decline_code FROM purchases").all()
    assert sorted(kept) == [
        ("declined", None, None, ("do_not_honor_" + "y" * 60)[:50]),
        ("held", "processor answered a reference we cannot keep (123 characters; at most 100, printable)", None, None),
    ]
    assert outbox_events(svc) == []


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_an_answer_holding_a_nul_holds_an_approved_charge_and_declines_a_declined_one(
    make_service, auth, backend, monkeypatch
):
    """Held with no reference kept, the charge is completed by an operator who names the reference."""
    from coinsctl.cli import main

    processor = LongWordedProcessor(nul=True)
    svc, client = make_service("purchase", backend=backend, processor=processor)
    asks_the(processor, monkeypatch)
    held = buy(client, auth, "tok_visa")
    assert held.status_code == 202 and held.get_json()["status"] == "held", held.get_data(as_text=True)
    assert buy(client, auth, "tok_declined").status_code == 402
    with svc.engine.connect() as conn:
        kept = conn.exec_driver_sql("SELECT status, processor_ref, decline_code FROM purchases").all()
    assert sorted(kept) == [("declined", None, "do_nothonor"), ("held", None, None)]
    purchase_id = held.get_json()["purchase_id"]
    env = {"PURCHASE_DATABASE_URL": svc.engine.url.render_as_string(hide_password=False)}
    unnamed = CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--complete"], env=env)
    assert unnamed.exit_code == 1 and "give --reference" in unnamed.output
    done = CliRunner().invoke(main, ["purchases", "resolve", purchase_id, "--complete", "--reference", "ch_1"], env=env)
    assert done.exit_code == 0 and '"processor_ref": "ch_1"' in done.output, done.output
    assert [e["type"] for e in outbox_events(svc)] == ["purchase.completed"]


def test_a_forged_page_cursor_is_refused_as_a_field_never_a_500(purchase, auth):
    svc, client, _processor = purchase
    for raw in ("2026-01-01T00:00:00+00:00|a\x00b", "2026-01-01T00:00:00|p-1", "2026-01-01T00:00:00+00:00|"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        listed = client.get(f"/v1/users/viewer-1/purchases?cursor={cursor}", headers=auth())
        assert listed.status_code == 422 and "cursor" in listed.get_json()["errors"], (raw, listed.status_code)
    empty = client.get("/v1/users/viewer-1/purchases?cursor=", headers=auth())  # no cursor issued: as gifting's
    assert empty.status_code == 422 and "cursor" in empty.get_json()["errors"], empty.status_code


def test_which_answers_a_key_keeps():
    assert keeps(201, None) and keeps(202, None)
    assert keeps(422, "validation-error") and keeps(402, "payment-declined") and keeps(403, "age-restricted")
    assert keeps(422, "purchase-limit-exceeded") and keeps(422, "daily-cap-exceeded")  # caps: rules of the request
    assert keeps(409, "not-reversible")  # a second chargeback of one purchase
    assert not keeps(503, "charge-outcome-unknown") and not keeps(500, "internal")
    assert not any(keeps(409, code) for code in PASSING_REFUSALS)


def test_a_refused_purchase_keeps_its_answer_by_the_rules_of_the_request(purchase, auth):
    svc, client, _ = purchase
    declined = buy(client, auth, "tok_declined", key="D")
    assert declined.status_code == 402
    replayed = buy(client, auth, "tok_declined", key="D")
    assert (replayed.status_code, replayed.headers["Idempotent-Replayed"]) == (402, "true")


def test_a_withdrawal_refused_for_want_of_diamonds_is_answered_afresh_once_they_are_earned(make_service, auth_for):
    from tests.integration.test_payout_api import earn, register

    auth = auth_for("payout")
    svc, client = make_service("payout")
    register(client, auth)
    headers = auth(**{"Idempotency-Key": "W"})
    body = {"creator_id": "creator", "amount_minor": 10_000}
    assert client.post("/v1/withdrawals", json=body, headers=headers).status_code == 409
    earn(svc, "creator", 30_000)
    made = client.post("/v1/withdrawals", json=body, headers=headers)
    assert made.status_code == 201 and "Idempotent-Replayed" not in made.headers
    again = client.post("/v1/withdrawals", json=body, headers=headers)
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.get_json()) == (201, "true", made.get_json())
    small = {"creator_id": "creator", "amount_minor": 9_999}
    assert client.post("/v1/withdrawals", json=small, headers=auth(**{"Idempotency-Key": "S"})).status_code == 422
    kept = client.post("/v1/withdrawals", json=small, headers=auth(**{"Idempotency-Key": "S"}))
    assert (kept.status_code, kept.headers["Idempotent-Replayed"]) == (422, "true")
