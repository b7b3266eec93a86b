from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.payout_totals_events_applied import PayoutTotalsEventsApplied
    from ..models.payout_totals_events_published import PayoutTotalsEventsPublished
    from ..models.payout_totals_events_written import PayoutTotalsEventsWritten


T = TypeVar("T", bound="PayoutTotals")


@_attrs_define
class PayoutTotals:
    """
    Attributes:
        events_written (PayoutTotalsEventsWritten | Unset):
        events_published (PayoutTotalsEventsPublished | Unset):
        events_applied (PayoutTotalsEventsApplied | Unset):
        diamonds_credited (int | Unset):
        diamonds_pending (int | Unset):
        diamonds_in_flight (int | Unset):
        diamonds_paid_out (int | Unset):
        gifts_credited (int | Unset):
        accounts_earnings_mismatch (list[str] | Unset):
        withdrawals_fee_mismatch (int | Unset):
        withdrawals_overdue (int | Unset): In flight longer than the worker's bound
    """

    events_written: PayoutTotalsEventsWritten | Unset = UNSET
    events_published: PayoutTotalsEventsPublished | Unset = UNSET
    events_applied: PayoutTotalsEventsApplied | Unset = UNSET
    diamonds_credited: int | Unset = UNSET
    diamonds_pending: int | Unset = UNSET
    diamonds_in_flight: int | Unset = UNSET
    diamonds_paid_out: int | Unset = UNSET
    gifts_credited: int | Unset = UNSET
    accounts_earnings_mismatch: list[str] | Unset = UNSET
    withdrawals_fee_mismatch: int | Unset = UNSET
    withdrawals_overdue: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        events_written: dict[str, Any] | Unset = UNSET
        if not isinstance(self.events_written, Unset):
            events_written = self.events_written.to_dict()

        events_published: dict[str, Any] | Unset = UNSET
        if not isinstance(self.events_published, Unset):
            events_published = self.events_published.to_dict()

        events_applied: dict[str, Any] | Unset = UNSET
        if not isinstance(self.events_applied, Unset):
            events_applied = self.events_applied.to_dict()

        diamonds_credited = self.diamonds_credited

        diamonds_pending = self.diamonds_pending

        diamonds_in_flight = self.diamonds_in_flight

        diamonds_paid_out = self.diamonds_paid_out

        gifts_credited = self.gifts_credited

        accounts_earnings_mismatch: list[str] | Unset = UNSET
        if not isinstance(self.accounts_earnings_mismatch, Unset):
            accounts_earnings_mismatch = self.accounts_earnings_mismatch

        withdrawals_fee_mismatch = self.withdrawals_fee_mismatch

        withdrawals_overdue = self.withdrawals_overdue

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if events_written is not UNSET:
            field_dict["events_written"] = events_written
        if events_published is not UNSET:
            field_dict["events_published"] = events_published
        if events_applied is not UNSET:
            field_dict["events_applied"] = events_applied
        if diamonds_credited is not UNSET:
            field_dict["diamonds_credited"] = diamonds_credited
        if diamonds_pending is not UNSET:
            field_dict["diamonds_pending"] = diamonds_pending
        if diamonds_in_flight is not UNSET:
            field_dict["diamonds_in_flight"] = diamonds_in_flight
        if diamonds_paid_out is not UNSET:
            field_dict["diamonds_paid_out"] = diamonds_paid_out
        if gifts_credited is not UNSET:
            field_dict["gifts_credited"] = gifts_credited
        if accounts_earnings_mismatch is not UNSET:
            field_dict["accounts_earnings_mismatch"] = accounts_earnings_mismatch
        if withdrawals_fee_mismatch is not UNSET:
            field_dict["withdrawals_fee_mismatch"] = withdrawals_fee_mismatch
        if withdrawals_overdue is not UNSET:
            field_dict["withdrawals_overdue"] = withdrawals_overdue

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payout_totals_events_applied import PayoutTotalsEventsApplied  # noqa: PLC0415
        from ..models.payout_totals_events_published import PayoutTotalsEventsPublished  # noqa: PLC0415
        from ..models.payout_totals_events_written import PayoutTotalsEventsWritten  # noqa: PLC0415

        d = dict(src_dict)
        _events_written = d.pop("events_written", UNSET)
        events_written: PayoutTotalsEventsWritten | Unset
        if isinstance(_events_written, Unset):
            events_written = UNSET
        else:
            events_written = PayoutTotalsEventsWritten.from_dict(_events_written)

        _events_published = d.pop("events_published", UNSET)
        events_published: PayoutTotalsEventsPublished | Unset
        if isinstance(_events_published, Unset):
            events_published = UNSET
        else:
            events_published = PayoutTotalsEventsPublished.from_dict(_events_published)

        _events_applied = d.pop("events_applied", UNSET)
        events_applied: PayoutTotalsEventsApplied | Unset
        if isinstance(_events_applied, Unset):
            events_applied = UNSET
        else:
            events_applied = PayoutTotalsEventsApplied.from_dict(_events_applied)

        diamonds_credited = d.pop("diamonds_credited", UNSET)

        diamonds_pending = d.pop("diamonds_pending", UNSET)

        diamonds_in_flight = d.pop("diamonds_in_flight", UNSET)

        diamonds_paid_out = d.pop("diamonds_paid_out", UNSET)

        gifts_credited = d.pop("gifts_credited", UNSET)

        accounts_earnings_mismatch = cast(list[str], d.pop("accounts_earnings_mismatch", UNSET))

        withdrawals_fee_mismatch = d.pop("withdrawals_fee_mismatch", UNSET)

        withdrawals_overdue = d.pop("withdrawals_overdue", UNSET)

        payout_totals = cls(
            events_written=events_written,
            events_published=events_published,
            events_applied=events_applied,
            diamonds_credited=diamonds_credited,
            diamonds_pending=diamonds_pending,
            diamonds_in_flight=diamonds_in_flight,
            diamonds_paid_out=diamonds_paid_out,
            gifts_credited=gifts_credited,
            accounts_earnings_mismatch=accounts_earnings_mismatch,
            withdrawals_fee_mismatch=withdrawals_fee_mismatch,
            withdrawals_overdue=withdrawals_overdue,
        )

        return payout_totals
