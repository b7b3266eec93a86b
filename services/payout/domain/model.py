"""Creators, their diamond account, and withdrawals.

An account's diamonds are credited by gifts (each an `Earning`); a withdrawal reserves them (in flight) until
the processor pays (withdrawn) or fails (released back to available). A held withdrawal keeps them reserved
until an operator releases it (back to the queue) or fails it (returned).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.payout.domain.errors import InsufficientEarnings
from shared.errors import kept_reason

PENDING, PROCESSING, COMPLETED, FAILED = "pending", "processing", "completed", "failed"
HELD = "held"  # for an operator: the rules forbid paying it now, or the processor answered for something else


@dataclass
class Creator:
    creator_id: str
    country: str
    birth_date: date
    payout_method: str  # bank or paypal
    payout_account: str
    created_at: datetime
    updated_at: datetime
    under_review: bool = False  # set by an operator: their withdrawals are held, not paid, until cleared
    method_hold_until: datetime | None = None  # after a payout method change, no new withdrawal before it


@dataclass(frozen=True)
class PayoutMethodChange:
    """Where a creator's payouts went before and go now, who changed it (the calling service) for
    whom (the end user who asked), when, and until when new withdrawals wait (`hold_until`)."""

    change_id: str
    creator_id: str
    old_method: str
    old_account: str
    new_method: str
    new_account: str
    changed_by: str
    changed_at: datetime
    requested_by: str | None = None  # None: recorded before the end user was
    hold_until: datetime | None = None
    hold_lifted_at: datetime | None = None  # an operator lifted the hold early: when, through which
    hold_lifted_by: str | None = None  # calling service, for which operator, and why
    hold_lift_requested_by: str | None = None
    hold_lift_reason: str | None = None


def mask(account: str) -> str:
    """Only the last four characters of a payout account, as shown outside the service."""
    return "*" * max(len(account) - 4, 0) + account[-4:]


@dataclass(frozen=True)
class Earning:
    """One gift's diamonds for its creator, credited once however often the gift is delivered,
    and on hold (pending, not withdrawable) until `available_at`."""

    gift_tx_id: str
    creator_id: str
    sender_id: str
    diamonds: int
    earned_at: datetime
    available_at: datetime

    def __post_init__(self) -> None:
        if self.diamonds <= 0:
            raise ValueError("a credit takes a positive number of diamonds")


def diamonds_owed(earnings: list[Earning], *, new: set[str]) -> dict[str, int]:
    """Diamonds to credit per creator for the earnings whose gift is `new` (not credited before);
    a gift listed twice counts once, as first listed."""
    owed: dict[str, int] = {}
    counted: set[str] = set()
    for earning in earnings:
        if earning.gift_tx_id in new and earning.gift_tx_id not in counted:
            counted.add(earning.gift_tx_id)
            owed[earning.creator_id] = owed.get(earning.creator_id, 0) + earning.diamonds
    return owed


@dataclass
class CreatorAccount:
    creator_id: str
    credited_diamonds: int = 0
    reserved_diamonds: int = 0  # in flight to the processor
    withdrawn_diamonds: int = 0  # paid out
    version: int = 0

    def available(self, *, pending_diamonds: int) -> int:
        return self.credited_diamonds - pending_diamonds - self.reserved_diamonds - self.withdrawn_diamonds

    def credit(self, diamonds: int) -> None:
        if diamonds <= 0:
            raise ValueError("a credit takes a positive number of diamonds")
        self.credited_diamonds += diamonds

    def reserve(self, diamonds: int, *, pending_diamonds: int) -> None:
        available = self.available(pending_diamonds=pending_diamonds)
        if diamonds > available:
            raise InsufficientEarnings(f"The withdrawal needs {diamonds} diamonds; {available} are available.")
        self.reserved_diamonds += diamonds

    def pay_out(self, diamonds: int) -> None:
        assert 0 < diamonds <= self.reserved_diamonds
        self.reserved_diamonds -= diamonds
        self.withdrawn_diamonds += diamonds

    def release(self, diamonds: int) -> None:
        assert 0 < diamonds <= self.reserved_diamonds
        self.reserved_diamonds -= diamonds


@dataclass
class Withdrawal:
    withdrawal_id: str
    creator_id: str
    diamonds: int
    gross_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    payout_method: str
    payout_account: str
    status: str
    created_at: datetime
    claimed_until: datetime | None = None  # the current claim's lease; None when nobody holds it
    processor_ref: str | None = None
    failure_reason: str | None = None
    settled_at: datetime | None = None
    attempts: int = 0  # times sent to the processor; only looked up after a bound, then failed if none
    traceparent: str | None = None  # the W3C trace context of the request that made it: its payout continues it
    tracestate: str | None = None
    claim_version: int = 0  # the fencing token: bumped by every claim, so a lapsed holder can no longer act
    next_check_at: datetime | None = None  # when an unknown outcome is next looked up (its own backoff)
    last_send_until: datetime | None = None  # the lease of the last send: that send ended before it
    held_reason: str | None = None
    send_after: datetime | None = None  # asked for in a payout method change's hold: not sent before it ends

    def claim(self, *, until: datetime) -> None:
        """A payout worker takes it, until `until` (then another may); the claim gets a new token."""
        assert self.status in (PENDING, PROCESSING), self.status
        self.status, self.claimed_until = PROCESSING, until
        self.claim_version += 1

    def sending(self, *, until: datetime) -> None:
        """The claim's holder sends it now, its lease renewed to cover the whole send."""
        self.claimed_until = self.last_send_until = until
        self.attempts += 1

    def unclaim(self, *, check_at: datetime) -> None:
        """The holder lets it go with its outcome unknown: looked up again at `check_at`."""
        self.claimed_until, self.next_check_at = None, check_at

    def hold(self, *, reason: str) -> None:
        assert self.status == PROCESSING, self.status
        self.status, self.held_reason, self.claimed_until = HELD, kept_reason(reason, 200), None

    def release_hold(self, *, at: datetime) -> None:
        """Back to the queue: sent as new if it never was, else looked up first."""
        assert self.status == HELD, self.status
        self.status = PENDING if self.attempts == 0 else PROCESSING
        self.held_reason, self.claimed_until, self.next_check_at = None, None, at
        self.claim_version += 1  # whoever held a claim before the hold cannot act on it

    def complete(self, *, processor_ref: str | None, at: datetime) -> None:
        assert self.status == PROCESSING, self.status
        self.status, self.processor_ref, self.settled_at = COMPLETED, processor_ref, at
        self.claimed_until = None

    def fail(self, *, reason: str, at: datetime) -> None:
        assert self.status in (PROCESSING, HELD), self.status
        self.status, self.failure_reason, self.settled_at = FAILED, kept_reason(reason, 200), at  # as the column holds
        self.claimed_until = None


@dataclass(frozen=True)
class Earnings:
    total: int
    pending: int
    available: int
    in_flight: int
    paid_out: int

    @property
    def withdrawn(self) -> int:
        """Withdrawn as the spec counts it: completed or in flight."""
        return self.in_flight + self.paid_out
