"""The payout processor port, and its adapter for the sandbox payout processor (`sandboxes.payout`).

A real adapter (a bank-transfer API, PayPal Payouts) implements `PayoutProcessor`: `send` is
idempotent by `payout_id` (the withdrawal's id), so a retried payout never pays twice, and
`lookup` finds a payout by that id. Neither raises for a slow or failing processor: the outcome
is then UNKNOWN, and the payout worker looks it up later. A known outcome carries the id, amount
and currency the processor reports, which the worker checks against what it asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.errors import keepable
from shared.outbound import Outbound, OutboundSettings, ReportUnavailable, read_report

PAID, FAILED, UNKNOWN = "paid", "failed", "unknown"
MAX_REFERENCE = 100  # the processor's reference of a payout, as the withdrawals' column holds it


@dataclass(frozen=True)
class PayoutResult:
    outcome: str  # PAID, FAILED or UNKNOWN
    reference: str | None = None
    failure_reason: str | None = None
    # What the processor says it paid (or refused): checked against what we asked for.
    payout_id: str | None = None
    net_minor: int | None = None
    currency: str | None = None

    def mismatch(self, *, payout_id: str, net_minor: int, currency: str) -> str | None:
        """Why this answer is not about the payout we asked for (None if it is)."""
        asked = {"payout_id": payout_id, "net_minor": net_minor, "currency": currency}
        answered = {"payout_id": self.payout_id, "net_minor": self.net_minor, "currency": self.currency}
        wrong = [f"{k} {answered[k]!r} (asked {v!r})" for k, v in asked.items() if answered[k] != v]
        return ("the processor answered " + ", ".join(wrong)) if wrong else None

    @property
    def kept_reference(self) -> str | None:
        """The processor's reference as the withdrawal keeps it: None for one it cannot (over
        MAX_REFERENCE characters, or unprintable: PostgreSQL refuses a NUL). The payout is still
        the one asked for, paid: the processor finds it by our id."""
        return self.reference if self.reference is not None and keepable(self.reference, MAX_REFERENCE) else None


@dataclass(frozen=True)
class PayoutRecord:
    """A payout as the processor's books hold it."""

    payout_id: str  # our withdrawal's id
    outcome: str  # PAID, FAILED or UNKNOWN (still processing)
    net_minor: int
    currency: str
    reference: str | None = None


class PayoutProcessor(Protocol):
    def send(
        self,
        *,
        payout_id: str,
        net_minor: int,
        currency: str,
        method: str,
        account: str,
        send_by: datetime | None = None,
    ) -> PayoutResult:
        """Pay out; send_by: no request may leave after it (the claim's lease), else UNKNOWN."""

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        """The payout made for `payout_id`; None if the processor has none."""

    def list_payouts(self, *, cursor: str | None = None) -> tuple[list[PayoutRecord], str | None]:
        """One page of the processor's settlement report (as PayPal's payouts report) of every
        payout, and the next page's cursor (None after the last), for the auditor. Unlike the calls
        above it raises (ReportUnavailable) when the processor cannot be read."""


class SandboxPayoutProcessor:
    """The sandbox payout processor's HTTP API, reached like a real processor's."""

    def __init__(self, settings: OutboundSettings):
        self.http = Outbound(settings)

    def send(
        self,
        *,
        payout_id: str,
        net_minor: int,
        currency: str,
        method: str,
        account: str,
        send_by: datetime | None = None,
    ) -> PayoutResult:
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
            send_by=send_by,
        )
        if reply is None or reply.status not in (200, 201):
            return PayoutResult(UNKNOWN)
        return _result(reply.body)

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        reply = self.http.call("GET", f"/v1/payouts/{payout_id}")
        if reply is not None and reply.status == 200:
            return _result(reply.body)
        if reply is not None and reply.status == 404 and reply.body.get("code") == "payout_not_found":
            return None  # the processor's own answer: it has no payout of this id
        return PayoutResult(UNKNOWN)  # unreachable, or a 404 from something in between: unknown, never "none"

    def list_payouts(self, *, cursor: str | None = None) -> tuple[list[PayoutRecord], str | None]:
        rows, next_cursor = read_report(self.http, "/v1/reports/payouts", cursor=cursor)
        try:
            records = [
                PayoutRecord(
                    payout_id=str(row["payout_id"]),
                    outcome=_result(row).outcome,
                    net_minor=int(row["net_minor"]),
                    currency=str(row["currency"]),
                    reference=row.get("reference"),
                )
                for row in rows
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportUnavailable(f"a payout report row not understood: {exc!r}") from exc
        return records, next_cursor


def _result(body: dict) -> PayoutResult:
    status, net = body.get("status"), body.get("net_minor")
    reported = {
        "payout_id": body.get("payout_id") if isinstance(body.get("payout_id"), str) else None,
        "net_minor": net if type(net) is int else None,
        "currency": body.get("currency") if isinstance(body.get("currency"), str) else None,
    }
    if status == "paid":  # paid, with or without a reference we can keep (`kept_reference`)
        reference = body.get("reference")
        return PayoutResult(PAID, reference=str(reference) if reference not in (None, "") else None, **reported)
    if status == "failed":
        return PayoutResult(FAILED, failure_reason=str(body.get("failure_reason") or "failed"), **reported)
    return PayoutResult(UNKNOWN)  # processing, or an answer this adapter does not know
