"""The payout processor port, and the sandbox that stands in for a real one.

A real adapter (a bank-transfer API, PayPal Payouts) implements `PayoutProcessor.send`;
the processor dedupes by `payout_id`, so a retried payout never pays twice.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PayoutResult:
    paid: bool
    reference: str | None = None
    failure_reason: str | None = None


class PayoutProcessor(Protocol):
    def send(self, *, payout_id: str, net_minor: int, currency: str, method: str, account: str) -> PayoutResult: ...


class SandboxPayoutProcessor:
    """Pays every account except those starting with "fail" (e.g. fail@example.com, FAIL-0001)."""

    def __init__(self):
        self._payouts: dict[str, PayoutResult] = {}
        self._lock = threading.Lock()

    def send(self, *, payout_id: str, net_minor: int, currency: str, method: str, account: str) -> PayoutResult:
        with self._lock:
            if payout_id not in self._payouts:
                if account.lower().startswith("fail"):
                    result = PayoutResult(False, failure_reason="account_rejected")
                else:
                    result = PayoutResult(True, reference=f"sandbox_po_{payout_id.replace('-', '')[:24]}")
                self._payouts[payout_id] = result
            return self._payouts[payout_id]
