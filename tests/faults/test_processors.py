"""Money at the processor boundary: a charge taken but never answered, a crash between the
charge and the settle, a retry while the first charge is in flight, a key reused after a 5xx,
a payout the processor fails forever, a 5xx then success. The sandbox processors run as their
own processes (scripted by token or account); the auditor runs after every case (conftest)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.faults.conftest import key
from tests.support.stories import buy, earnings, send_gift, spendable, unique, wallet
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults


def order(user_id: str, token: str, package_id: str = "coins_700") -> dict:
    return {
        "user_id": user_id,
        "country": "US",
        "birth_date": "1990-01-01",
        "package_id": package_id,
        "payment": {"method": "card", "token": token},
    }


def charges_of(stack, user_purchases: list[dict]) -> list[dict]:
    """What the card sandbox took for these purchases (one row per payment id it charged)."""
    ids = {p["purchase_id"] for p in user_purchases}
    listing = requests.get(f"{stack.sandbox_url('card')}/v1/charges", timeout=10).json()["charges"]
    return [c for c in listing if c["payment_id"] in ids]


def purchases_of(api, user_id: str) -> list[dict]:
    return api.get("purchase", f"/v1/users/{user_id}/purchases").json()["purchases"]


def settled(api, user_id: str, status: str, timeout: float = 30) -> dict:
    return wait_until(
        lambda: (p := purchases_of(api, user_id)) and p[0]["status"] == status and p[0],
        timeout=timeout,
        message=f"{user_id}'s purchase to be {status}",
    )


def test_a_charge_taken_but_never_answered_is_completed_by_the_reconciler_once(api, stack):
    viewer = unique("viewer")
    response = api.post("purchase", "/v1/purchases", order(viewer, "tok_timeout"))
    assert response.status_code == 503  # the card was charged; the service could not know it
    purchase = settled(api, viewer, "completed")
    spendable(api, viewer, 700)
    [charge] = charges_of(stack, [purchase])
    assert (charge["status"], charge["amount_minor"]) == ("succeeded", 999)


def test_the_purchase_service_killed_between_charge_and_settle_loses_and_doubles_nothing(api, stack, faults):
    viewer, k = unique("viewer"), key()
    faults.arm("purchase-web", "purchase.after_charge")
    stack.wait_ready()
    with pytest.raises(requests.ConnectionError):
        api.post("purchase", "/v1/purchases", order(viewer, "tok_visa"), key=k)  # the worker dies after the charge
    assert faults.fired("purchase.after_charge")
    # The buyer retries with the same key (resumed, or replayed once the reconciler settled it).
    again = wait_until(
        lambda: (r := api.post("purchase", "/v1/purchases", order(viewer, "tok_visa"), key=k)).status_code == 201 and r,
        timeout=30,
        message="the retry to be answered 201",
    )
    assert again.json()["status"] == "completed"
    spendable(api, viewer, 700)
    assert len(purchases_of(api, viewer)) == 1 and len(charges_of(stack, purchases_of(api, viewer))) == 1


def test_a_retry_while_the_first_charge_is_in_flight_is_409_and_charges_once(api, stack):
    viewer, k = unique("viewer"), key()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(api.post, "purchase", "/v1/purchases", order(viewer, "tok_slow"), "gateway", k)
        wait_until(lambda: purchases_of(api, viewer), message="the first attempt's purchase")
        retry = api.post("purchase", "/v1/purchases", order(viewer, "tok_slow"), key=k)
        assert retry.status_code == 409 and retry.headers["Retry-After"]
        assert first.result().status_code == 201
    assert (
        api.post("purchase", "/v1/purchases", order(viewer, "tok_slow"), key=k).headers["Idempotent-Replayed"] == "true"
    )
    spendable(api, viewer, 700)
    assert len(charges_of(stack, purchases_of(api, viewer))) == 1


def test_a_key_reused_with_another_body_after_a_5xx_is_422_and_charges_nothing(api, stack):
    ann, bob, k = unique("ann"), unique("bob"), key()
    failed = api.post("purchase", "/v1/purchases", order(ann, "tok_error", "coins_70"), key=k)
    assert failed.status_code == 503
    reused = api.post("purchase", "/v1/purchases", order(bob, "tok_mastercard", "coins_17500"), key=k)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["errors"]
    assert purchases_of(api, bob) == [] and wallet(api, bob)["balance"] == 0
    settled(api, ann, "declined")  # the reconciler: the processor never took a charge for it
    assert charges_of(stack, purchases_of(api, ann)) == []


def test_a_5xx_then_success_is_retried_by_the_adapter_and_charges_once(api, stack):
    viewer = unique("viewer")
    response = api.post("purchase", "/v1/purchases", order(viewer, "tok_error_once"))
    assert response.status_code == 201 and response.json()["status"] == "completed"
    spendable(api, viewer, 700)
    [charge] = charges_of(stack, purchases_of(api, viewer))
    assert charge["calls"] == 2  # the first answered 503 without charging


def creator_with_earnings(api, account: str) -> str:
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_17500")
    buy(api, viewer, package_id="coins_17500")
    spendable(api, viewer, 35_000)
    assert send_gift(api, viewer, creator, "lion").status_code == 201
    assert (
        api.post(
            "payout",
            "/v1/creators",
            {
                "creator_id": creator,
                "country": "US",
                "birth_date": "1990-01-01",
                "payout_method": {"type": "bank", "account": account},
            },
            key=None,
        ).status_code
        == 201
    )
    wait_until(lambda: earnings(api, creator)["available"] == 29_999, message="diamonds credited")
    return creator


def withdrawal_status(api, withdrawal: dict) -> str:
    return api.get("payout", f"/v1/withdrawals/{withdrawal['withdrawal_id']}").json()["status"]


def test_a_payout_failing_forever_is_failed_after_its_attempts_and_the_others_are_paid(api, stack):
    stuck, flaky, fine = (creator_with_earnings(api, a) for a in ("ERROR-0001", "FLAKY-0001", "GB29NWBK60161331926819"))
    asked = {
        c: api.post("payout", "/v1/withdrawals", {"creator_id": c, "amount_minor": 10_000}).json()
        for c in (stuck, flaky, fine)
    }
    wait_until(lambda: withdrawal_status(api, asked[fine]) == "completed", timeout=30, message="fine paid")
    wait_until(lambda: withdrawal_status(api, asked[flaky]) == "completed", timeout=30, message="flaky paid")
    wait_until(lambda: withdrawal_status(api, asked[stuck]) == "failed", timeout=60, message="stuck failed")
    assert earnings(api, stuck)["available"] == 29_999  # its diamonds are back
    payouts = requests.get(f"{stack.sandbox_url('payout')}/v1/payouts", timeout=10).json()["payouts"]
    paid = {p["payout_id"] for p in payouts if p["status"] == "paid"}
    assert paid >= {asked[fine]["withdrawal_id"], asked[flaky]["withdrawal_id"]}
    assert asked[stuck]["withdrawal_id"] not in {p["payout_id"] for p in payouts}


def test_a_charge_that_fails_later_is_declined_by_the_reconciler(api, stack):
    viewer = unique("viewer")
    assert api.post("purchase", "/v1/purchases", order(viewer, "tok_fail_later")).status_code == 503
    settled(api, viewer, "declined")
    assert wallet(api, viewer)["balance"] == 0
