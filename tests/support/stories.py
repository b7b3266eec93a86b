"""Helpers for money stories told over HTTP against a running stack."""

from __future__ import annotations

import uuid

import requests

from coinsctl.audit import audit, sandbox_processors
from shared.credentials import SERVICES
from tests.support.waiting import wait_until


class Api:
    """A thin HTTP client for one running stack, as another internal service would call it."""

    def __init__(self, stack, auth):
        self.stack, self.auth = stack, auth
        self.session = requests.Session()

    def get(self, service: str, path: str, caller: str = "gateway", **kwargs):
        return self.session.get(
            self.stack.url(service) + path, headers=self.auth(caller, service=service), timeout=30, **kwargs
        )

    def post(self, service: str, path: str, body: dict, caller: str = "gateway", key: str | None = "new"):
        headers = self.auth(caller, service=service)
        if key is not None:
            headers["Idempotency-Key"] = str(uuid.uuid4()) if key == "new" else key
        return requests.post(self.stack.url(service) + path, json=body, headers=headers, timeout=30)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def buy(api, user_id: str, country="US", key="new", **choice) -> dict:
    choice = choice or {"package_id": "coins_700"}
    response = api.post(
        "purchase",
        "/v1/purchases",
        {
            "user_id": user_id,
            "country": country,
            "birth_date": "1995-03-14",
            **choice,
            "payment": {"method": "card", "token": "tok_visa"},
        },
        key=key,
    )
    assert response.status_code == 201, response.text
    return response.json()


def dispute(api, purchase_id: str) -> None:
    """The card holder disputes the charge at the card processor (its books, which the auditor
    reads): what comes before the processor reports the chargeback (POST /v1/chargebacks)."""
    url = api.stack.env["PURCHASE_PROCESSOR_URL"]
    disputed = requests.post(f"{url}/v1/charges/{purchase_id}/chargebacks", json={"reason": "fraud"}, timeout=10)
    assert disputed.status_code in (200, 201), disputed.text


def wallet(api, user_id: str) -> dict:
    return api.get("gifting", f"/v1/wallets/{user_id}").json()


def spendable(api, user_id: str, coins: int, timeout: float = 30) -> dict:
    return wait_until(
        lambda: (w := wallet(api, user_id))["balance"] == coins and w,
        timeout=timeout,
        message=f"{user_id} to hold {coins} coins",
    )


def send_gift(
    api, sender: str, creator: str, gift_id: str, quantity: int = 1, stream_id: str | None = None, key: str = "new"
):
    return api.post(
        "gifting",
        "/v1/gifts",
        {"sender_id": sender, "creator_id": creator, "gift_id": gift_id, "quantity": quantity, "stream_id": stream_id},
        key=key,
    )


def earnings(api, creator: str) -> dict:
    return api.get("payout", f"/v1/creators/{creator}/earnings").json()


def run_audit(stack, caller_keys, wait_s: float = 60):
    """The auditor's report on a running stack: its services and both sandbox processors."""
    processors = sandbox_processors(stack.env["PURCHASE_PROCESSOR_URL"], stack.env["PAYOUT_PROCESSOR_URL"])
    return audit(
        {s: stack.url(s) for s in SERVICES},
        lambda service: caller_keys.token("ops", service),
        processors=processors,
        wait_s=wait_s,
    )


def audit_passes(stack, caller_keys, wait_s: float = 60):
    report = run_audit(stack, caller_keys, wait_s)
    assert report.ok, report.problems
    return report.totals
