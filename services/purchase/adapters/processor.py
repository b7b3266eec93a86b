"""The card processor port, and its adapter for the sandbox card processor (`sandboxes.card`).

A real adapter (Stripe, Adyen, ...) implements `PaymentProcessor`: `charge` is idempotent by
`payment_id` (the purchase's id), so a retried charge never takes the money twice, and `lookup`
finds a charge by that id. Neither raises for a slow or failing processor: the outcome is then
UNKNOWN, and the purchase reconciler settles it later. Every answer carries what the processor
says it charged (our id, amount, currency): the handlers check it against what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.outbound import Outbound, OutboundSettings, ReportUnavailable, read_report

APPROVED, DECLINED, UNKNOWN = "approved", "declined", "unknown"


@dataclass(frozen=True)
class ChargeResult:
    outcome: str  # APPROVED, DECLINED or UNKNOWN
    reference: str | None = None
    decline_code: str | None = None
    # What the processor reports it charged (None where it did not say): checked, never trusted.
    payment_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ChargeRecord:
    """A charge as the processor's books hold it."""

    payment_id: str  # our purchase's id
    outcome: str  # APPROVED (money taken), DECLINED or UNKNOWN (still processing)
    amount_minor: int
    currency: str
    reference: str | None = None


@dataclass(frozen=True)
class ChargebackRecord:
    """A dispute the processor settled for the card holder: the charge's money went back."""

    chargeback_id: str
    payment_id: str
    amount_minor: int
    currency: str


class PaymentProcessor(Protocol):
    def charge(
        self,
        *,
        payment_id: str,
        amount_minor: int,
        currency: str,
        method: str,
        token: str,
        send_by: datetime | None = None,
    ) -> ChargeResult:
        """Charge once per `payment_id`; send_by: no request may leave after it (the request's
        hold on the purchase), else UNKNOWN."""

    def lookup(self, *, payment_id: str) -> ChargeResult | None:
        """The charge made for `payment_id`; None if the processor has none."""

    def list_charges(self, *, cursor: str | None = None) -> tuple[list[ChargeRecord], str | None]:
        """One page of the processor's settlement report (as Stripe's balance transactions) of every
        charge, and the next page's cursor (None after the last), for the auditor. Unlike the calls
        above it raises (ReportUnavailable) when the processor cannot be read."""

    def list_chargebacks(self, *, cursor: str | None = None) -> tuple[list[ChargebackRecord], str | None]:
        """One page of every chargeback (Stripe's disputes), as `list_charges` pages."""


class SandboxCardProcessor:
    """The sandbox card processor's HTTP API, reached like a real processor's."""

    def __init__(self, settings: OutboundSettings):
        self.http = Outbound(settings)

    def charge(
        self,
        *,
        payment_id: str,
        amount_minor: int,
        currency: str,
        method: str,
        token: str,
        send_by: datetime | None = None,
    ) -> ChargeResult:
        reply = self.http.call(
            "POST",
            "/v1/charges",
            json={
                "payment_id": payment_id,
                "amount_minor": amount_minor,
                "currency": currency,
                "method": method,
                "token": token,
            },
            send_by=send_by,
        )
        if reply is None or reply.status not in (200, 201, 402):
            return ChargeResult(UNKNOWN)
        return _result(reply.body)

    def lookup(self, *, payment_id: str) -> ChargeResult | None:
        reply = self.http.call("GET", f"/v1/charges/{payment_id}")
        if reply is not None and reply.status == 200:
            return _result(reply.body)
        if reply is not None and reply.status == 404 and reply.body.get("code") == "charge_not_found":
            return None  # the processor's own answer: it has no charge for this id
        return ChargeResult(UNKNOWN)  # unreachable, or a 404 from something in between: unknown, never "none"

    def list_charges(self, *, cursor: str | None = None) -> tuple[list[ChargeRecord], str | None]:
        rows, next_cursor = read_report(self.http, "/v1/reports/charges", cursor=cursor)
        return [_charge_record(row) for row in rows], next_cursor

    def list_chargebacks(self, *, cursor: str | None = None) -> tuple[list[ChargebackRecord], str | None]:
        rows, next_cursor = read_report(self.http, "/v1/reports/chargebacks", cursor=cursor)
        try:
            records = [
                ChargebackRecord(
                    chargeback_id=str(row["chargeback_id"]),
                    payment_id=str(row["payment_id"]),
                    amount_minor=int(row["amount_minor"]),
                    currency=str(row["currency"]),
                )
                for row in rows
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportUnavailable(f"a chargeback report row not understood: {exc!r}") from exc
        return records, next_cursor


def _charge_record(row: dict) -> ChargeRecord:
    try:
        return ChargeRecord(
            payment_id=str(row["payment_id"]),
            outcome=_result(row).outcome,
            amount_minor=int(row["amount_minor"]),
            currency=str(row["currency"]),
            reference=row.get("charge_id"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportUnavailable(f"a charge report row not understood: {exc!r}") from exc


def _result(body: dict) -> ChargeResult:
    status = body.get("status")
    amount = body.get("amount_minor")
    told = {
        "payment_id": body.get("payment_id") if isinstance(body.get("payment_id"), str) else None,
        "amount_minor": amount if type(amount) is int else None,
        "currency": body.get("currency") if isinstance(body.get("currency"), str) else None,
    }
    if status == "succeeded" and body.get("charge_id"):
        return ChargeResult(APPROVED, reference=str(body["charge_id"]), **told)
    if status == "declined":
        return ChargeResult(DECLINED, decline_code=str(body.get("decline_code") or "declined"), **told)
    return ChargeResult(UNKNOWN)  # processing, or an answer this adapter does not know
