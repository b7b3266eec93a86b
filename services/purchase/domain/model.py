"""A purchase of coins, from payment to (rarely) chargeback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.purchase.domain.errors import NotReversible

PENDING, COMPLETED, DECLINED, REVERSED = "pending", "completed", "declined", "reversed"


@dataclass
class Purchase:
    purchase_id: str
    user_id: str
    country: str
    package_id: str
    coins: int
    amount_minor: int
    currency: str
    status: str
    created_at: datetime
    attempted_at: datetime  # when a charge was last sent: the reconciler leaves it alone until long after
    processor_ref: str | None = None
    decline_code: str | None = None
    completed_at: datetime | None = None
    reversed_at: datetime | None = None
    traceparent: str | None = None  # the W3C trace context of the request that made it: the reconciler continues it
    tracestate: str | None = None

    def complete(self, *, processor_ref: str, at: datetime) -> None:
        assert self.status == PENDING, self.status
        self.status, self.processor_ref, self.completed_at = COMPLETED, processor_ref, at

    def decline(self, *, code: str) -> None:
        assert self.status == PENDING, self.status
        self.status, self.decline_code = DECLINED, code

    def reverse(self, *, at: datetime) -> None:
        if self.status != COMPLETED:
            raise NotReversible(
                f"Purchase {self.purchase_id} is {self.status}; only a completed purchase can be charged back."
            )
        self.status, self.reversed_at = REVERSED, at


@dataclass(frozen=True)
class Chargeback:
    chargeback_id: str
    purchase_id: str
    user_id: str
    coins: int
    reason: str
    created_at: datetime
