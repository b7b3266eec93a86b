"""The payment processor port, and the sandbox that stands in for a real processor.

A real adapter (Stripe, Adyen, ...) implements `PaymentProcessor.charge`; the processor
dedupes by `payment_id`, so a retried charge never takes the money twice.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    reference: str | None = None
    decline_code: str | None = None


class PaymentProcessor(Protocol):
    def charge(self, *, payment_id: str, amount_minor: int, currency: str, method: str,
               token: str) -> ChargeResult: ...


class SandboxPaymentProcessor:
    """Approves `tok_visa` and `tok_mastercard`, declines `tok_declined`, refuses any other token."""

    APPROVED = frozenset({"tok_visa", "tok_mastercard"})

    def __init__(self):
        self._charges: dict[str, ChargeResult] = {}
        self._lock = threading.Lock()

    def charge(self, *, payment_id: str, amount_minor: int, currency: str, method: str, token: str) -> ChargeResult:
        with self._lock:
            if payment_id in self._charges:
                return self._charges[payment_id]
            if token in self.APPROVED:
                result = ChargeResult(True, reference=f"sandbox_ch_{payment_id.replace('-', '')[:24]}")
            elif token == "tok_declined":
                result = ChargeResult(False, decline_code="card_declined")
            else:
                result = ChargeResult(False, decline_code="invalid_token")
            self._charges[payment_id] = result
            return result
