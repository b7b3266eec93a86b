"""Creators and withdrawals on PostgreSQL: registration, earnings, the rules, payouts that fail."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.payout.domain.commands import CreditEarnings
from services.payout.entrypoints.payout_worker import run_once
from services.payout.service_layer import handlers
from shared.clock import utcnow
from shared.messaging.uow import run
from tests.integration.conftest import outbox_events, rows

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    """Tokens meant for payout (their `aud`)."""
    return auth_for("payout")


@pytest.fixture
def payout(make_service):
    return make_service("payout")


def register(
    client, auth, creator_id="creator", method="bank", account="DE89370400440532013000", birth_date="1990-01-01"
):
    return client.post(
        "/v1/creators",
        headers=auth(),
        json={
            "creator_id": creator_id,
            "country": "US",
            "birth_date": birth_date,
            "payout_method": {"type": method, "account": account},
        },
    )


def earn(svc, creator_id: str, diamonds: int) -> None:
    run(
        handlers.credit_earnings,
        [
            CreditEarnings(
                gift_tx_id=str(uuid.uuid4()),
                creator_id=creator_id,
                sender_id="viewer",
                diamonds=diamonds,
                sent_at=utcnow(),
            )
        ],
        uow=svc.uow(),
        rules=svc.settings.rules,
    )


def withdraw(client, auth, amount_minor, creator_id="creator"):
    return client.post(
        "/v1/withdrawals",
        json={"creator_id": creator_id, "amount_minor": amount_minor},
        headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
    )


def earnings(client, auth, creator_id="creator") -> dict:
    return client.get(f"/v1/creators/{creator_id}/earnings", headers=auth()).get_json()


def test_a_creator_earns_withdraws_100_dollars_and_is_paid(payout, auth):
    svc, client = payout
    assert register(client, auth).status_code == 201
    earn(svc, "creator", 30_000)
    assert earnings(client, auth)["available_value_minor"] == 15_000
    response = withdraw(client, auth, 10_000)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["status"], body["diamonds"], body["gross_minor"], body["fee_minor"], body["net_minor"]) == (
        "pending",
        20_000,
        10_000,
        0,
        10_000,
    )
    assert earnings(client, auth)["available"] == 10_000
    assert run_once(svc) == 1
    done = client.get(f"/v1/withdrawals/{body['withdrawal_id']}", headers=auth()).get_json()
    assert done["status"] == "completed"
    e = earnings(client, auth)
    assert (e["total"], e["available"], e["withdrawn"], e["pending"]) == (30_000, 10_000, 20_000, 0)
    assert [ev["type"] for ev in outbox_events(svc)] == ["withdrawal.completed"]


@pytest.mark.parametrize(
    ("method", "account"), [("paypal", '"\x01\x1f"@example.com'), ("paypal", '"a\u200fb"@example.com')]
)
def test_a_payout_account_is_printable(payout, auth, method, account):
    """An email's quoted local part lets control (and format) characters through marshmallow's Email:
    a destination of money is shown to creators and operators, so it is printable; a name in any
    script still is."""
    svc, client = payout
    refused = register(client, auth, method=method, account=account)
    assert refused.status_code == 422 and "payout_method.account" in refused.get_json()["errors"], refused.get_json()
    assert rows(svc, "creators") == 0
    assert register(client, auth, method="paypal", account="josé@example.com").status_code == 201


def test_registered_with_other_details_is_answered_afresh_once_the_details_change(payout, auth):
    """ "creator-already-registered" compares the request with the creator's details, which PUT
    /payout-method moves on: not kept by its key, as "creator-not-registered" is not."""
    svc, client = payout
    paypal = {"type": "paypal", "account": "me@example.com"}
    body = {"creator_id": "creator", "country": "US", "birth_date": "1990-01-01", "payout_method": paypal}
    assert register(client, auth).status_code == 201  # with a bank account
    keyed = auth(**{"Idempotency-Key": "register-paypal"})
    assert client.post("/v1/creators", json=body, headers=keyed).status_code == 409
    changed = client.put(
        "/v1/creators/creator/payout-method",
        json={"payout_method": paypal},
        headers=auth(**{"Idempotency-Key": "change-to-paypal"}),
    )
    assert changed.status_code == 200
    again = client.post("/v1/creators", json=body, headers=keyed)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, None)


def test_a_failed_payout_returns_its_diamonds(payout, auth):
    svc, client = payout
    register(client, auth, method="paypal", account="fail@example.com")
    earn(svc, "creator", 40_000)
    body = withdraw(client, auth, 20_000).get_json()
    assert body["fee_minor"] == 425 and body["gross_minor"] == body["net_minor"] + body["fee_minor"]
    assert earnings(client, auth)["available"] == 0
    run_once(svc)
    failed = client.get(f"/v1/withdrawals/{body['withdrawal_id']}", headers=auth()).get_json()
    assert (failed["status"], failed["failure_reason"]) == ("failed", "account_rejected")
    assert earnings(client, auth)["available"] == 40_000
    [event] = outbox_events(svc)
    assert event["type"] == "withdrawal.failed" and event["data"]["diamonds"] == 40_000


def test_withdrawal_rules_in_order_404_422_409(payout, auth):
    svc, client = payout
    assert withdraw(client, auth, 10_000, creator_id="stranger").status_code == 404
    register(client, auth)
    earn(svc, "creator", 1_000_000)
    assert withdraw(client, auth, 9_999).status_code == 422
    assert withdraw(client, auth, 100_001).status_code == 422
    assert withdraw(client, auth, 60_000).status_code == 201
    over_cap = withdraw(client, auth, 50_000)
    assert over_cap.status_code == 422 and "amount_minor" in over_cap.get_json()["errors"]
    register(client, auth, creator_id="poor")
    earn(svc, "poor", 19_999)
    assert withdraw(client, auth, 10_000, creator_id="poor").status_code == 409
    for bad in [{"amount_minor": 100.5}, {"amount_minor": "10000"}, {"amount_minor": None}, {"creator_id": ""}]:
        response = client.post(
            "/v1/withdrawals",
            json={"creator_id": "creator", "amount_minor": 10_000, **bad},
            headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
        )
        assert response.status_code == 422, bad
    assert rows(svc, "withdrawals") == 1


def test_earnings_on_hold_are_pending_not_available(make_service, auth):
    svc, client = make_service("payout", PAYOUT_HOLD_SECONDS="3600")
    register(client, auth)
    earn(svc, "creator", 30_000)
    e = earnings(client, auth)
    assert (e["total"], e["pending"], e["available"]) == (30_000, 30_000, 0)
    assert withdraw(client, auth, 10_000).status_code == 409


def test_racing_withdrawals_cannot_overdraw_earnings(payout, auth):
    svc, client = payout
    register(client, auth)
    earn(svc, "creator", 50_000)  # $250: two $100 withdrawals fit, not three
    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(lambda _: withdraw(client, auth, 10_000).status_code, range(6)))
    assert statuses == [201, 201, 409, 409, 409, 409]
    assert earnings(client, auth)["available"] == 10_000


def test_creators_must_be_adults_with_a_valid_payout_method(payout, auth):
    _, client = payout
    assert register(client, auth, birth_date="2012-01-01").status_code == 403
    assert register(client, auth, method="paypal", account="not-an-email").status_code == 422
    assert register(client, auth, method="crypto").status_code == 422
    assert register(client, auth).status_code == 201
    assert register(client, auth).status_code == 200  # the same registration again changes nothing


def test_registering_again_cannot_redirect_payouts_the_change_is_its_own_recorded_call(payout, auth):
    svc, client = payout
    assert register(client, auth).status_code == 201
    redirected = register(client, auth, method="paypal", account="thief@example.com")
    assert redirected.status_code == 409 and "payout-method" in redirected.get_json()["detail"]
    change = client.put(
        "/v1/creators/creator/payout-method",
        headers=auth(**{"Idempotency-Key": "k1"}),
        json={"payout_method": {"type": "paypal", "account": "me@example.com"}},
    )
    assert change.status_code == 200, change.get_json()
    body = change.get_json()
    assert body["previous"]["type"] == "bank" and body["payout_method"]["type"] == "paypal"
    assert body["changed_by"] == "gateway" and body["changed_at"]
    assert "me@example.com" not in change.get_data(as_text=True)  # accounts are masked
    replay = client.put(
        "/v1/creators/creator/payout-method",
        headers=auth(**{"Idempotency-Key": "k1"}),
        json={"payout_method": {"type": "paypal", "account": "me@example.com"}},
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and rows(svc, "payout_method_changes") == 1
    history = client.get("/v1/creators/creator/payout-method-changes", headers=auth()).get_json()["changes"]
    assert [c["change_id"] for c in history] == [body["change_id"]]
    earn(svc, "creator", 20_000)
    on_hold = withdraw(client, auth, 10_000)  # waits out the change's hold (test_payout_method_changes.py)
    assert on_hold.status_code == 201 and on_hold.get_json()["status"] == "pending"
    assert on_hold.get_json()["send_after"] == body["hold_until"]
    import sqlalchemy as sa

    with svc.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT payout_method FROM withdrawals")).scalar() == "paypal"
    assert (
        client.put(
            "/v1/creators/nobody/payout-method",
            headers=auth(**{"Idempotency-Key": "k2"}),
            json={"payout_method": {"type": "bank", "account": "DE89370400440532013000"}},
        ).status_code
        == 404
    )
    assert (
        client.put(
            "/v1/creators/creator/payout-method",
            headers=auth("app", **{"Idempotency-Key": "k3"}),
            json={"payout_method": {"type": "bank", "account": "DE89370400440532013000"}},
        ).status_code
        == 403
    )


def test_the_openapi_document_says_which_posts_require_an_idempotency_key(payout, auth):
    svc, client = payout
    paths = client.get("/openapi.json").get_json()["paths"]
    required = {
        path: next(p["required"] for p in paths[path]["post"]["parameters"] if p["name"] == "Idempotency-Key")
        for path in ("/v1/creators", "/v1/withdrawals")
    }
    assert required == {"/v1/creators": False, "/v1/withdrawals": True}
    registered = client.post(
        "/v1/creators",
        headers=auth(),
        json={  # no key: as documented, accepted
            "creator_id": "keyless",
            "country": "US",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "paypal", "account": "keyless@example.com"},
        },
    )
    assert registered.status_code == 201


def test_an_empty_idempotency_key_is_refused_even_where_a_key_is_optional(payout, auth):
    svc, client = payout
    sent = client.post(
        "/v1/creators",
        headers=auth(**{"Idempotency-Key": ""}),
        json={
            "creator_id": "empty-key",
            "country": "US",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "paypal", "account": "empty@example.com"},
        },
    )
    assert sent.status_code == 400 and sent.get_json()["type"].endswith("idempotency-key-invalid")
    assert "Idempotency-Key" in sent.get_json()["errors"]


def test_a_withdrawal_the_processor_keeps_failing_is_failed_after_its_attempts_and_blocks_no_other(make_service, auth):
    from tests.support.processors import FakePayoutProcessor
    from tests.support.waiting import wait_until

    processor = FakePayoutProcessor()
    svc, client = make_service(
        "payout",
        processor=processor,
        PAYOUT_MAX_ATTEMPTS="2",
        PAYOUT_WORKER_LEASE_SECONDS="1",
        PAYOUT_PROCESSOR_TIMEOUT_MS="100",
        PAYOUT_PROCESSOR_ATTEMPTS="1",
        PAYOUT_CHECK_BACKOFF_SECONDS="1",
    )
    register(client, auth, creator_id="stuck", account="ERROR-0001")  # the processor answers 5xx forever
    register(client, auth, creator_id="fine")
    for creator in ("stuck", "fine"):
        earn(svc, creator, 20_000)
    stuck = withdraw(client, auth, 10_000, creator_id="stuck").get_json()  # the oldest: first in every batch
    fine = withdraw(client, auth, 10_000, creator_id="fine").get_json()

    def status(withdrawal) -> str:
        return client.get(f"/v1/withdrawals/{withdrawal['withdrawal_id']}", headers=auth()).get_json()["status"]

    assert run_once(svc) + run_once(svc) == 2  # one withdrawal a turn, the oldest first
    assert (status(stuck), status(fine)) == ("processing", "completed")  # stuck waits for its next check
    wait_until(lambda: run_once(svc) >= 0 and status(stuck) == "failed", timeout=20, message="stuck to fail")
    assert processor.calls[stuck["withdrawal_id"]] == 2  # sent twice (each after a lookup found none), then failed
    assert earnings(client, auth, "stuck")["available"] == 20_000  # its diamonds are back
    assert [e["type"] for e in outbox_events(svc)] == ["withdrawal.completed", "withdrawal.failed"]


def test_a_creator_in_a_blocked_country_can_neither_register_nor_be_paid(payout, auth):
    _, client = payout
    refused = client.post(
        "/v1/creators",
        headers=auth(),
        json={
            "creator_id": "kp-creator",
            "country": "KP",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "bank", "account": "DE89370400440532013000"},
        },
    )
    assert refused.status_code == 403 and "country" in refused.get_json()["errors"]
    assert withdraw(client, auth, 10_000, creator_id="kp-creator").status_code == 404


def test_a_405_says_which_methods_are_allowed(payout, auth):
    _, client = payout
    response = client.delete("/v1/withdrawals", headers=auth())
    assert response.status_code == 405 and response.headers["Allow"] and "POST" in response.headers["Allow"]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_an_operator_lists_releases_and_fails_withdrawals_held_at_pay_time_with_coinsctl(make_service, auth, backend):
    import json

    from click.testing import CliRunner

    from coinsctl.cli import main as coinsctl

    svc, client = make_service("payout", backend=backend)
    env = {"PAYOUT_DATABASE_URL": svc.engine.url.render_as_string(hide_password=False)}

    def ctl(*args: str):
        done = CliRunner().invoke(coinsctl, ["payouts", *args], env=env)
        assert done.exit_code == 0, done.output
        if "--json" in args:
            return json.loads(done.stdout)  # one document, nothing else on stdout
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    for creator in ("first", "second"):
        register(client, auth, creator_id=creator)
        earn(svc, creator, 40_000)
        assert CliRunner().invoke(coinsctl, ["payouts", "review", creator], env=env).exit_code == 0
    first = withdraw(client, auth, 10_000, creator_id="first").get_json()["withdrawal_id"]
    second = withdraw(client, auth, 10_000, creator_id="second").get_json()["withdrawal_id"]
    assert run_once(svc) + run_once(svc) == 2
    held = ctl("held", "--json")
    assert [(h["withdrawal_id"], h["status"], h["held_reason"]) for h in held] == [
        (first, "held", "under_review: the creator is under review"),
        (second, "held", "under_review: the creator is under review"),
    ]
    assert earnings(client, auth, "first")["available"] == 20_000  # still reserved while held

    assert CliRunner().invoke(coinsctl, ["payouts", "review", "first", "--clear"], env=env).exit_code == 0
    assert ctl("release", first)[0]["status"] == "pending"
    assert run_once(svc) == 1 and client.get(f"/v1/withdrawals/{first}", headers=auth()).get_json()["status"] == (
        "completed"
    )
    assert ctl("fail", second, "--reason", "review: account closed")[0]["failure_reason"] == "review: account closed"
    assert earnings(client, auth, "second")["available"] == 40_000  # its diamonds are back
    assert [e["type"] for e in outbox_events(svc)] == ["withdrawal.completed", "withdrawal.failed"]
    refused = CliRunner().invoke(coinsctl, ["payouts", "release", second], env=env)
    assert refused.exit_code == 1 and "failed, not held" in refused.output
    assert ctl("held", "--json") == []


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_earnings_held_in_no_account_are_named_in_the_totals(make_service, auth, backend):
    """An earning written without its creator's account credited (earnings.creator_id has no
    foreign key): the auditor's check of accounts against earnings starts from the accounts and
    missed it; under traffic no sum compares the gifts' diamonds with the accounts' either."""
    import sqlalchemy as sa

    from services.payout.adapters.orm import earnings as earnings_table

    svc, client = make_service("payout", backend=backend)
    earn(svc, "creator", 100)
    with svc.engine.begin() as conn:
        row = {"gift_tx_id": str(uuid.uuid4()), "creator_id": "dora", "sender_id": "viewer", "diamonds": 50}
        conn.execute(sa.insert(earnings_table), {**row, "earned_at": utcnow(), "available_at": utcnow()})
    totals = client.get("/v1/internal/totals", headers=auth("ops")).get_json()
    assert totals["accounts_earnings_mismatch"] == ["dora"]
