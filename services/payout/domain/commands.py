"""What callers ask the payout service to do, and what its consumer applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class RegisterCreator:
    creator_id: str
    country: str
    birth_date: date
    payout_method: str
    payout_account: str


@dataclass(frozen=True)
class ChangePayoutMethod:
    creator_id: str
    payout_method: str
    payout_account: str
    changed_by: str  # the calling service, recorded with the change
    requested_by: str  # the end user who asked (the user the call acts for), recorded too


@dataclass(frozen=True)
class LiftMethodHold:
    creator_id: str
    lifted_by: str  # the calling service
    requested_by: str  # the operator who asked
    reason: str


@dataclass(frozen=True)
class CreditEarnings:
    gift_tx_id: str
    creator_id: str
    sender_id: str
    diamonds: int
    sent_at: datetime


@dataclass(frozen=True)
class RequestWithdrawal:
    creator_id: str
    amount_minor: int
