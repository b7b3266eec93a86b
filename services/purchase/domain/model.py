"""A purchase of coins, from payment to (rarely) chargeback or review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.purchase.domain.errors import NotReversible
from shared.errors import keepable, kept_reason

PENDING, COMPLETED, DECLINED, REVERSED, HELD = "pending", "completed", "declined", "reversed", "held"
# A chargeback's status: waiting for its purchase to settle, the coins taken back, or nothing to take.
CHARGEBACK_PENDING, CHARGEBACK_REVERSED, CHARGEBACK_VOID = "pending", "reversed", "void"
MAX_REFERENCE = 100  # the processor's reference of a charge, as its column holds it


def storable_reference(reference: str) -> bool:
    """A processor's reference we can keep and show: at most MAX_REFERENCE printable characters
    (no NUL or control character, which PostgreSQL refuses or a terminal would act on)."""
    return keepable(reference, MAX_REFERENCE)


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
    attempted_at: datetime  # when a charge was last sent: "no charge found" means nothing only long after
    next_check_at: datetime  # when the reconciler looks its charge up next, if it is still pending
    checks: int = 0  # lookups that settled nothing: the next waits longer
    processor_ref: str | None = None
    decline_code: str | None = None
    completed_at: datetime | None = None
    reversed_at: datetime | None = None
    hold_reason: str | None = None
    traceparent: str | None = None  # the W3C trace context of the request that made it: the reconciler continues it
    tracestate: str | None = None

    def complete(self, *, processor_ref: str, at: datetime) -> None:
        assert self.status in (PENDING, HELD), self.status
        self.status, self.processor_ref, self.completed_at = COMPLETED, processor_ref, at

    def decline(self, *, code: str) -> None:
        assert self.status in (PENDING, HELD), self.status
        self.status, self.decline_code = DECLINED, kept_reason(code, 50) or "declined"

    def hold(self, *, reason: str, processor_ref: str | None) -> None:
        """The processor's answer does not match what was asked: credit nothing until someone looks."""
        assert self.status == PENDING, self.status
        kept = processor_ref if processor_ref is None or storable_reference(processor_ref) else None
        self.status, self.hold_reason, self.processor_ref = HELD, kept_reason(reason, 200), kept

    def mismatch(
        self, *, payment_id: str | None, amount_minor: int | None, currency: str | None, reference: str | None = None
    ) -> str | None:
        """What in the processor's answer differs from the charge asked for, or cannot be kept (a
        reference longer than the column); None if it all matches."""
        asked = {"payment id": self.purchase_id, "amount": self.amount_minor, "currency": self.currency}
        told = {"payment id": payment_id, "amount": amount_minor, "currency": currency}
        wrong = [f"{name} {told[name]!r} (asked {asked[name]!r})" for name in asked if told[name] != asked[name]]
        if reference is not None and not storable_reference(reference):
            wrong.append(
                f"a reference we cannot keep ({len(reference):,} characters; at most {MAX_REFERENCE}, printable)"
            )
        return "processor answered " + ", ".join(wrong) if wrong else None

    def charge_back(self, *, at: datetime) -> str:
        """A chargeback reported against this purchase: what it does now (a chargeback status). A
        completed purchase is reversed; a declined one had nothing taken; a pending or held one
        waits until it settles. Only one chargeback per purchase."""
        if self.status == COMPLETED:
            self.status, self.reversed_at = REVERSED, at
            return CHARGEBACK_REVERSED
        if self.status == DECLINED:
            return CHARGEBACK_VOID
        if self.status in (PENDING, HELD):
            return CHARGEBACK_PENDING
        raise NotReversible(f"Purchase {self.purchase_id} was charged back already.")


def next_check_delay(checks: int, *, first: timedelta, cap: timedelta) -> timedelta:
    """How long after a lookup that settled nothing the next one comes: doubling from `first`, at most `cap`."""
    return min(first * (2 ** min(checks, 30)), cap)


@dataclass
class Chargeback:
    chargeback_id: str
    purchase_id: str
    user_id: str
    coins: int
    reason: str
    created_at: datetime
    status: str = CHARGEBACK_PENDING
    settled_at: datetime | None = None

    def settle(self, status: str, *, at: datetime) -> None:
        assert self.status == CHARGEBACK_PENDING and status != CHARGEBACK_PENDING, (self.status, status)
        self.status, self.settled_at = status, at
