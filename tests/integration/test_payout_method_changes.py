"""A payout method change names the end user who asked, starts a hold on new withdrawals, and
tells a notifier (payout_method.changed); user grants on payout's routes are spent once and
bounded; purchase takes no grant at all."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coinsctl.tokens import issue_token
from services.payout.entrypoints.payout_worker import run_once
from services.payout.service_layer import handlers, payouts
from shared.clock import utcnow
from shared.messaging.uow import run
from tests.integration.conftest import outbox_events, rows
from tests.integration.test_payout_api import earn, earnings, register, withdraw
from tests.support.clock import ManualClock

pytestmark = pytest.mark.integration
ACCOUNT = "DE89370400440532013000"


@pytest.fixture
def auth(auth_for):
    return auth_for("payout")


@pytest.fixture(params=["postgres", "sqlite"])
def payout(request, make_service):
    return make_service("payout", backend=request.param)


def change(client, auth, *, caller="gateway", key=None, grant=None, account="me@example.com", creator="creator"):
    headers = auth(caller, **{"Idempotency-Key": key or str(uuid.uuid4())})
    if grant is not None:
        headers["X-User-Grant"] = grant
    return client.put(
        f"/v1/creators/{creator}/payout-method",
        headers=headers,
        json={"payout_method": {"type": "paypal", "account": account}},
    )


def code(response) -> str:
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()["type"].rsplit("/", 1)[-1]


def test_a_change_records_who_asked_holds_new_withdrawals_and_tells_a_notifier(payout, auth):
    svc, client = payout
    assert register(client, auth).status_code == 201
    earn(svc, "creator", 40_000)
    before = withdraw(client, auth, 10_000)  # asked before the change: keeps its method, not held
    assert before.status_code == 201
    changed = change(client, auth)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    assert (body["changed_by"], body["requested_by"]) == ("gateway", "creator")
    hold_until = body["hold_until"]
    assert timedelta(hours=23, minutes=59) < _parse(hold_until) - _parse(body["changed_at"]) <= timedelta(hours=24)
    [event] = [e for e in outbox_events(svc) if e["type"] == "payout_method.changed"]
    assert event["data"]["requested_by"] == "creator" and event["data"]["new_method"] == "paypal"
    assert event["data"]["new_account"].endswith(".com") and "me@example" not in json.dumps(event)
    assert event["data"]["old_account"] == "*" * (len(ACCOUNT) - 4) + ACCOUNT[-4:]
    [shown] = client.get("/v1/creators/creator/payout-method-changes", headers=auth()).get_json()["changes"]
    assert (shown["requested_by"], shown["hold_until"]) == ("creator", hold_until)

    available = earnings(client, auth)["available"]
    key = str(uuid.uuid4())
    held = client.post(
        "/v1/withdrawals",
        json={"creator_id": "creator", "amount_minor": 10_000},
        headers=auth(**{"Idempotency-Key": key}),
    )
    assert held.status_code == 201, held.get_data(as_text=True)  # accepted: it waits out the hold
    assert held.get_json()["send_after"] == hold_until and held.get_json()["status"] == "pending"
    assert earnings(client, auth)["available"] < available and rows(svc, "withdrawals") == 2  # reserved
    assert before.get_json()["send_after"] is None
    again = client.post(  # the same request with the same key: the same withdrawal, replayed
        "/v1/withdrawals",
        json={"creator_id": "creator", "amount_minor": 10_000},
        headers=auth(**{"Idempotency-Key": key}),
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["withdrawal_id"] == held.get_json()["withdrawal_id"]
    with svc.engine.connect() as conn:
        methods = conn.execute(sa.text("SELECT payout_method FROM withdrawals ORDER BY created_at")).scalars().all()
    assert methods == ["bank", "paypal"]


def _parse(stamp: str):
    from datetime import datetime

    return datetime.fromisoformat(stamp)


def test_the_hold_is_a_setting_and_zero_turns_it_off(make_service, auth):
    svc, client = make_service("payout", backend="sqlite", PAYOUT_METHOD_CHANGE_HOLD_HOURS="0")
    assert register(client, auth).status_code == 201
    earn(svc, "creator", 20_000)
    assert change(client, auth).status_code == 200
    assert withdraw(client, auth, 10_000).status_code == 201


def test_a_hold_setting_out_of_range_is_refused_at_start():
    from services.payout.settings import load_settings
    from shared.env import ConfigError

    with pytest.raises(ConfigError, match="PAYOUT_METHOD_CHANGE_HOLD_HOURS"):
        load_settings({"PAYOUT_METHOD_CHANGE_HOLD_HOURS": "-1"})


POLICY = json.dumps(
    {
        "gateway": ["users:any", "creators:write", "payout-methods:write", "creators:read", "withdrawals:create"],
        "app": ["payout-methods:write", "withdrawals:create", "creators:read", "earnings:read"],
    }
)


def payout_grant(caller_keys, *, user="creator", party="app", **limits) -> str:
    return issue_token(
        caller_keys.signing_key("gateway"), audience="payout", subject=user, authorized_party=party, limits=limits
    )


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_payout_grants_are_spent_once_with_their_change_and_bound_to_their_amount(
    make_service, auth, caller_keys, backend
):
    no_hold = {"PAYOUT_METHOD_CHANGE_HOLD_HOURS": "0"}
    svc, client = make_service("payout", backend=backend, PAYOUT_AUTH_POLICY=POLICY, **no_hold)
    assert register(client, auth).status_code == 201
    earn(svc, "creator", 40_000)
    assert code(change(client, auth, caller="app")) == "grant-required"
    grant, key = payout_grant(caller_keys), str(uuid.uuid4())
    changed = change(client, auth, caller="app", grant=grant, key=key)
    assert changed.status_code == 200 and changed.get_json()["requested_by"] == "creator"
    assert changed.get_json()["changed_by"] == "app"
    replayed = change(client, auth, caller="app", grant=grant, account="thief@example.com")
    assert replayed.status_code == 403 and code(replayed) == "grant-replayed"
    retried = change(client, auth, caller="app", grant=grant, key=key)  # the client's retry: its answer again
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert (rows(svc, "payout_method_changes"), rows(svc, "used_grants")) == (1, 1)

    def withdraw_with(token, amount):
        headers = auth("app", **{"Idempotency-Key": str(uuid.uuid4()), "X-User-Grant": token})
        return client.post("/v1/withdrawals", json={"creator_id": "creator", "amount_minor": amount}, headers=headers)

    assert code(withdraw_with(payout_grant(caller_keys), 10_000)) == "grant-scope"  # names no amount
    assert code(withdraw_with(payout_grant(caller_keys, max_amount_minor=9_999), 10_000)) == "grant-exceeded"
    assert code(withdraw_with(payout_grant(caller_keys, max_amount_minor="10000"), 10_000)) == "grant-invalid"
    bounded = payout_grant(caller_keys, max_amount_minor=10_000)
    assert withdraw_with(bounded, 10_000).status_code == 201
    assert code(withdraw_with(bounded, 10_000)) == "grant-replayed"
    assert rows(svc, "withdrawals") == 1


def test_a_withdrawal_grant_can_neither_change_the_payout_method_nor_register_a_creator(
    make_service, auth, caller_keys
):
    """A grant naming a spend is for that spend: one the gateway gave `app` for a 1-cent withdrawal
    cannot point the creator's payouts at another account, nor register the creator."""
    policy = json.loads(POLICY)
    policy["app"].append("creators:write")
    svc, client = make_service("payout", backend="postgres", PAYOUT_AUTH_POLICY=json.dumps(policy))
    body = {"creator_id": "creator", "country": "US", "birth_date": "1990-01-01"}
    body["payout_method"] = {"type": "paypal", "account": "thief@example.com"}
    headers = auth("app", **{"Idempotency-Key": str(uuid.uuid4())})
    registering = client.post(
        "/v1/creators", json=body, headers={**headers, "X-User-Grant": payout_grant(caller_keys, max_amount_minor=1)}
    )
    assert registering.status_code == 403 and code(registering) == "grant-scope"
    assert register(client, auth).status_code == 201
    hijack = change(
        client, auth, caller="app", grant=payout_grant(caller_keys, max_amount_minor=1), account="thief@example.com"
    )
    assert hijack.status_code == 403 and code(hijack) == "grant-scope"
    assert "max_amount_minor" in str(hijack.get_json()["errors"])
    assert (rows(svc, "payout_method_changes"), rows(svc, "used_grants")) == (0, 0)  # refused: nothing spent


def test_purchase_takes_no_user_grant(make_service, auth_for, caller_keys):
    _, client = make_service("purchase", backend="sqlite")
    grant = issue_token(
        caller_keys.signing_key("gateway"), audience="purchase", subject="ann", authorized_party="gateway"
    )
    headers = auth_for("purchase")(**{"Idempotency-Key": str(uuid.uuid4()), "X-User-Grant": grant})
    body = {
        "user_id": "ann",
        "country": "US",
        "birth_date": "1990-01-01",
        "package_id": "coins_70",
        "payment": {"method": "card", "token": "tok_visa"},
    }
    refused = client.post("/v1/purchases", headers=headers, json=body)
    assert refused.status_code == 403 and code(refused) == "grant-scope"


def lift(client, auth, *, caller="ops", reason="owner confirmed by phone", creator="creator"):
    return client.post(
        f"/v1/internal/creators/{creator}/payout-method-hold/lift",
        headers=auth(caller),
        json={"reason": reason, "operator": "alice"},
    )


def test_an_operator_lifts_a_hold_the_waiting_withdrawal_is_sendable_now_and_the_lift_is_recorded(payout, auth):
    svc, client = payout
    assert register(client, auth).status_code == 201
    earn(svc, "creator", 40_000)
    assert lift(client, auth).status_code == 409  # no change, no hold
    assert change(client, auth).status_code == 200
    waiting = withdraw(client, auth, 10_000).get_json()
    assert waiting["send_after"] is not None and run(next_due, uow=svc.uow()) is None
    assert lift(client, auth, caller="gateway").status_code == 403  # an ops action: its own permission
    assert code(refused := lift(client, auth, reason="")) == "validation-error" and "reason" in refused.get_data(
        as_text=True
    )
    lifted = lift(client, auth)
    assert lifted.status_code == 200, lifted.get_data(as_text=True)
    body = lifted.get_json()
    assert body["withdrawals_released"] == 1
    record = body["change"]
    assert (record["hold_lifted_by"], record["hold_lift_requested_by"], record["hold_lift_reason"]) == (
        "ops",
        "alice",
        "owner confirmed by phone",
    )
    [told] = [e for e in outbox_events(svc) if e["type"] == "payout_method.hold_lifted"]  # a notifier hears of it
    assert (told["data"]["change_id"], told["data"]["lifted_by"], told["data"]["withdrawals_released"]) == (
        record["change_id"],
        "ops",
        1,
    )
    [shown] = client.get("/v1/creators/creator/payout-method-changes", headers=auth()).get_json()["changes"]
    assert shown == record
    due = run(next_due, uow=svc.uow())  # what a payout worker takes next
    assert due is not None and due.withdrawal_id == waiting["withdrawal_id"]
    assert withdraw(client, auth, 10_000).get_json()["send_after"] is None  # the hold is over
    again = lift(client, auth)
    assert again.status_code == 409 and code(again) == "no-method-hold"
    with pytest.raises(sa.exc.IntegrityError), svc.engine.begin() as conn:  # a lift is recorded whole
        conn.execute(sa.text("UPDATE payout_method_changes SET hold_lift_reason = NULL"))


def next_due(*, uow):
    return uow.withdrawals.next_due(utcnow())


def test_coinsctl_payouts_lift_hold_calls_the_api_as_ops_and_exits_1_when_no_hold_runs(make_service, auth, monkeypatch):
    """The command as an operator runs it, its HTTP call served by the app under test."""
    import requests
    from click.testing import CliRunner

    import coinsctl.cli
    from coinsctl.cli import main

    svc, client = make_service("payout", backend="sqlite")
    assert register(client, auth).status_code == 201
    assert change(client, auth).status_code == 200
    sent = []

    def post(url, *, json, headers, timeout):
        sent.append((url, json, timeout))
        answer = client.post(url.removeprefix("http://payout.test"), json=json, headers=headers)
        response = requests.Response()
        response.status_code, response._content = answer.status_code, answer.get_data()
        response.headers["Content-Type"] = answer.content_type
        return response

    monkeypatch.setattr(requests, "post", post)
    monkeypatch.setattr(coinsctl.cli, "ops_token", lambda service: auth("ops")["Authorization"].split()[1])
    command = ["payouts", "lift-hold", "creator", "--reason", "owner confirmed", "--operator", "alice"]
    done = CliRunner().invoke(main, [*command, "--payout-url", "http://payout.test"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["change"]["hold_lift_requested_by"] == "alice"
    assert sent[0][1] == {"reason": "owner confirmed", "operator": "alice"} and sent[0][2] > 0
    refused = CliRunner().invoke(main, [*command, "--payout-url", "http://payout.test"])
    assert refused.exit_code == 1 and "409" in refused.output


def test_a_hijack_undone_then_redone_is_held_not_sent_while_the_redos_hold_runs(make_service, auth, monkeypatch):
    """The redo's hold still runs when the first one ends, and the withdrawal's destination matches
    the method again: it is held for review, and nothing reaches the processor."""
    clock = ManualClock().pin(monkeypatch, payouts, handlers)
    for backend in ("postgres", "sqlite"):
        svc, client = make_service("payout", backend=backend, PAYOUT_METHOD_CHANGE_HOLD_HOURS="1")
        assert register(client, auth, account=ACCOUNT).status_code == 201
        earn(svc, "creator", 40_000)
        clock.advance(1)  # the earning (dated by the real clock) is available
        assert change(client, auth, account="thief@example.com").status_code == 200  # held to t0+60'
        asked = withdraw(client, auth, 10_000)
        assert asked.status_code == 201 and asked.get_json()["send_after"] is not None
        clock.advance(10 * 60)
        undo = client.put(
            "/v1/creators/creator/payout-method",
            headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
            json={"payout_method": {"type": "bank", "account": ACCOUNT}},
        )
        assert undo.status_code == 200, undo.get_data(as_text=True)
        clock.advance(40 * 60)
        assert change(client, auth, account="thief@example.com").status_code == 200  # redone: held to t0+110'
        clock.advance(10 * 60 + 1)
        while run_once(svc):
            pass
        withdrawal_id = asked.get_json()["withdrawal_id"]
        found = client.get(f"/v1/withdrawals/{withdrawal_id}", headers=auth()).get_json()
        assert (backend, found["status"], svc.processor.calls[withdrawal_id]) == (backend, "held", 0)
