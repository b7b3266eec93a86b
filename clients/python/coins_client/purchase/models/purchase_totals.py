from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.purchase_totals_events_applied import PurchaseTotalsEventsApplied
    from ..models.purchase_totals_events_published import PurchaseTotalsEventsPublished
    from ..models.purchase_totals_events_written import PurchaseTotalsEventsWritten


T = TypeVar("T", bound="PurchaseTotals")


@_attrs_define
class PurchaseTotals:
    """
    Attributes:
        events_written (PurchaseTotalsEventsWritten | Unset):
        events_published (PurchaseTotalsEventsPublished | Unset):
        events_applied (PurchaseTotalsEventsApplied | Unset):
        coins_bought (int | Unset):
        coins_reversed (int | Unset):
        purchases_completed (int | Unset):
        purchases_pending (int | Unset):
        purchases_overdue (int | Unset): Pending longer than the reconciler's bound
        chargebacks (int | Unset): Chargebacks that reversed their purchase
        chargebacks_pending (int | Unset): Recorded, waiting for their purchase to settle
        chargebacks_void (int | Unset): Against a declined purchase: nothing taken
        purchases_held (int | Unset): Held for review: the processor's answer did not match
    """

    events_written: PurchaseTotalsEventsWritten | Unset = UNSET
    events_published: PurchaseTotalsEventsPublished | Unset = UNSET
    events_applied: PurchaseTotalsEventsApplied | Unset = UNSET
    coins_bought: int | Unset = UNSET
    coins_reversed: int | Unset = UNSET
    purchases_completed: int | Unset = UNSET
    purchases_pending: int | Unset = UNSET
    purchases_overdue: int | Unset = UNSET
    chargebacks: int | Unset = UNSET
    chargebacks_pending: int | Unset = UNSET
    chargebacks_void: int | Unset = UNSET
    purchases_held: int | Unset = UNSET

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

        coins_bought = self.coins_bought

        coins_reversed = self.coins_reversed

        purchases_completed = self.purchases_completed

        purchases_pending = self.purchases_pending

        purchases_overdue = self.purchases_overdue

        chargebacks = self.chargebacks

        chargebacks_pending = self.chargebacks_pending

        chargebacks_void = self.chargebacks_void

        purchases_held = self.purchases_held

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if events_written is not UNSET:
            field_dict["events_written"] = events_written
        if events_published is not UNSET:
            field_dict["events_published"] = events_published
        if events_applied is not UNSET:
            field_dict["events_applied"] = events_applied
        if coins_bought is not UNSET:
            field_dict["coins_bought"] = coins_bought
        if coins_reversed is not UNSET:
            field_dict["coins_reversed"] = coins_reversed
        if purchases_completed is not UNSET:
            field_dict["purchases_completed"] = purchases_completed
        if purchases_pending is not UNSET:
            field_dict["purchases_pending"] = purchases_pending
        if purchases_overdue is not UNSET:
            field_dict["purchases_overdue"] = purchases_overdue
        if chargebacks is not UNSET:
            field_dict["chargebacks"] = chargebacks
        if chargebacks_pending is not UNSET:
            field_dict["chargebacks_pending"] = chargebacks_pending
        if chargebacks_void is not UNSET:
            field_dict["chargebacks_void"] = chargebacks_void
        if purchases_held is not UNSET:
            field_dict["purchases_held"] = purchases_held

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.purchase_totals_events_applied import PurchaseTotalsEventsApplied  # noqa: PLC0415
        from ..models.purchase_totals_events_published import PurchaseTotalsEventsPublished  # noqa: PLC0415
        from ..models.purchase_totals_events_written import PurchaseTotalsEventsWritten  # noqa: PLC0415

        d = dict(src_dict)
        _events_written = d.pop("events_written", UNSET)
        events_written: PurchaseTotalsEventsWritten | Unset
        if isinstance(_events_written, Unset):
            events_written = UNSET
        else:
            events_written = PurchaseTotalsEventsWritten.from_dict(_events_written)

        _events_published = d.pop("events_published", UNSET)
        events_published: PurchaseTotalsEventsPublished | Unset
        if isinstance(_events_published, Unset):
            events_published = UNSET
        else:
            events_published = PurchaseTotalsEventsPublished.from_dict(_events_published)

        _events_applied = d.pop("events_applied", UNSET)
        events_applied: PurchaseTotalsEventsApplied | Unset
        if isinstance(_events_applied, Unset):
            events_applied = UNSET
        else:
            events_applied = PurchaseTotalsEventsApplied.from_dict(_events_applied)

        coins_bought = d.pop("coins_bought", UNSET)

        coins_reversed = d.pop("coins_reversed", UNSET)

        purchases_completed = d.pop("purchases_completed", UNSET)

        purchases_pending = d.pop("purchases_pending", UNSET)

        purchases_overdue = d.pop("purchases_overdue", UNSET)

        chargebacks = d.pop("chargebacks", UNSET)

        chargebacks_pending = d.pop("chargebacks_pending", UNSET)

        chargebacks_void = d.pop("chargebacks_void", UNSET)

        purchases_held = d.pop("purchases_held", UNSET)

        purchase_totals = cls(
            events_written=events_written,
            events_published=events_published,
            events_applied=events_applied,
            coins_bought=coins_bought,
            coins_reversed=coins_reversed,
            purchases_completed=purchases_completed,
            purchases_pending=purchases_pending,
            purchases_overdue=purchases_overdue,
            chargebacks=chargebacks,
            chargebacks_pending=chargebacks_pending,
            chargebacks_void=chargebacks_void,
            purchases_held=purchases_held,
        )

        return purchase_totals
