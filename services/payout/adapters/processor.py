"""The payout processor port, and its adapter for the sandbox payout processor (`sandboxes.payout`).

A real adapter (a bank-transfer API, PayPal Payouts) implements `PayoutProcessor`: `send` is
idempotent by `payout_id` (the withdrawal's id), so a retried payout never pays twice, and
`lookup` finds a payout by that id. Neither raises for a slow or failing processor: the outcome
is then UNKNOWN, and the payout worker asks again after its lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.outbound import Outbound, OutboundSettings

PAID, FAILED, UNKNOWN = "paid", "failed", "unknown"


@dataclass(frozen=True)
class PayoutResult:
    outcome: str  # PAID, FAILED or UNKNOWN
    reference: str | None = None
    failure_reason: str | None = None


class PayoutProcessor(Protocol):
    def send(self, *, payout_id: str, net_minor: int, currency: str, method: str, account: str) -> PayoutResult: ...

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        """The payout made for `payout_id`; None if the processor has none."""


class SandboxPayoutProcessor:
    """The sandbox payout processor's HTTP API, reached like a real processor's."""

    def __init__(self, settings: OutboundSettings):
        self.http = Outbound(settings)

    def send(self, *, payout_id: str, net_minor: int, currency: str, method: str, account: str) -> PayoutResult:
        reply = self.http.call(
            "POST",
            "/v1/payouts",
            json={
                "payout_id": payout_id,
                "net_minor": net_minor,
                "currency": currency,
                "method": method,
                "account": account,
            },
        )
        if reply is None or reply.status not in (200, 201):
            return PayoutResult(UNKNOWN)
        return _result(reply.body)

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        reply = self.http.call("GET", f"/v1/payouts/{payout_id}")
        if reply is None or reply.status not in (200, 404):
            return PayoutResult(UNKNOWN)
        return _result(reply.body) if reply.status == 200 else None


def _result(body: dict) -> PayoutResult:
    status = body.get("status")
    if status == "paid" and body.get("reference"):
        return PayoutResult(PAID, reference=str(body["reference"]))
    if status == "failed":
        return PayoutResult(FAILED, failure_reason=str(body.get("failure_reason") or "failed"))
    return PayoutResult(UNKNOWN)  # processing, or an answer this adapter does not know
