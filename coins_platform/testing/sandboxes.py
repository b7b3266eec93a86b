"""Driving the sandbox processors' scripted behaviours from a test: a card token or a payout
account picks what the processor does (sandboxes/card.py and sandboxes/payout.py list them),
and their books show what they took, and how often each id was sent."""

from __future__ import annotations

import uuid

import requests

TIMEOUT_S = 10


class _Sandbox:
    def __init__(self, url: str):
        self.url = url

    def _get(self, path: str) -> dict:
        response = requests.get(self.url + path, timeout=TIMEOUT_S)
        response.raise_for_status()
        return response.json()


class CardSandbox(_Sandbox):
    """The card processor. Pay with one of these tokens (`payment.token` of a purchase)."""

    APPROVED = "tok_visa"  # also tok_mastercard
    DECLINED = "tok_declined"
    SLOW = "tok_slow"  # approved after SANDBOX_SLOW_MS
    TIMEOUT = "tok_timeout"  # charged, but the answer comes after the caller gave up (SANDBOX_HANG_MS)
    ERROR = "tok_error"  # 503 every time, nothing charged
    ERROR_ONCE = "tok_error_once"  # 503 the first time, nothing charged; approved when retried
    FAIL_LATER = "tok_fail_later"  # "processing", declined after SANDBOX_LATER_MS

    def charges(self) -> list[dict]:
        """Every charge it holds, oldest first, each with `calls` (how often its payment_id was sent)."""
        return self._get("/v1/charges")["charges"]

    def charge(self, payment_id: str) -> dict | None:
        response = requests.get(f"{self.url}/v1/charges/{payment_id}", timeout=TIMEOUT_S)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def charge_back(self, payment_id: str, reason: str = "fraudulent") -> dict:
        """The card holder disputes a settled charge. Like a real processor the sandbox only
        records it: tell the purchase service (POST /v1/chargebacks as `processor`) yourself."""
        response = requests.post(
            f"{self.url}/v1/charges/{payment_id}/chargebacks", json={"reason": reason}, timeout=TIMEOUT_S
        )
        response.raise_for_status()
        return response.json()


class PayoutSandbox(_Sandbox):
    """The payout processor: a creator's payout account's first letters pick what it does."""

    PAID = "acct"  # anything not below
    FAILED = "fail"  # refused: account_rejected
    SLOW = "slow"  # paid after SANDBOX_SLOW_MS
    TIMEOUT = "timeout"  # paid, the answer comes after the caller gave up
    ERROR = "error"  # 503 every time, nothing paid
    FLAKY = "flaky"  # 503 the first time, then paid
    LATE = "late"  # "processing", failed after SANDBOX_LATER_MS

    @staticmethod
    def account(behaviour: str = PAID) -> str:
        """A fresh account number that scripts `behaviour` (one of the constants above)."""
        return f"{behaviour}{uuid.uuid4().hex[:12]}"

    def payouts(self) -> list[dict]:
        """Every payout it made, oldest first, each with `calls`."""
        return self._get("/v1/payouts")["payouts"]

    def payout(self, payout_id: str) -> dict | None:
        response = requests.get(f"{self.url}/v1/payouts/{payout_id}", timeout=TIMEOUT_S)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()
