from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gifting_totals_events_applied import GiftingTotalsEventsApplied
    from ..models.gifting_totals_events_published import GiftingTotalsEventsPublished
    from ..models.gifting_totals_events_written import GiftingTotalsEventsWritten


T = TypeVar("T", bound="GiftingTotals")


@_attrs_define
class GiftingTotals:
    """
    Attributes:
        events_written (GiftingTotalsEventsWritten | Unset):
        events_published (GiftingTotalsEventsPublished | Unset):
        events_applied (GiftingTotalsEventsApplied | Unset):
        coins_credited (int | Unset):
        coins_clawed_back (int | Unset):
        coins_in_wallets (int | Unset):
        coins_spent_on_gifts (int | Unset):
        diamonds_owed (int | Unset):
        wallets_below_zero (int | Unset):
        wallets_ledger_mismatch (list[str] | Unset):
    """

    events_written: GiftingTotalsEventsWritten | Unset = UNSET
    events_published: GiftingTotalsEventsPublished | Unset = UNSET
    events_applied: GiftingTotalsEventsApplied | Unset = UNSET
    coins_credited: int | Unset = UNSET
    coins_clawed_back: int | Unset = UNSET
    coins_in_wallets: int | Unset = UNSET
    coins_spent_on_gifts: int | Unset = UNSET
    diamonds_owed: int | Unset = UNSET
    wallets_below_zero: int | Unset = UNSET
    wallets_ledger_mismatch: list[str] | Unset = UNSET

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

        coins_credited = self.coins_credited

        coins_clawed_back = self.coins_clawed_back

        coins_in_wallets = self.coins_in_wallets

        coins_spent_on_gifts = self.coins_spent_on_gifts

        diamonds_owed = self.diamonds_owed

        wallets_below_zero = self.wallets_below_zero

        wallets_ledger_mismatch: list[str] | Unset = UNSET
        if not isinstance(self.wallets_ledger_mismatch, Unset):
            wallets_ledger_mismatch = self.wallets_ledger_mismatch

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if events_written is not UNSET:
            field_dict["events_written"] = events_written
        if events_published is not UNSET:
            field_dict["events_published"] = events_published
        if events_applied is not UNSET:
            field_dict["events_applied"] = events_applied
        if coins_credited is not UNSET:
            field_dict["coins_credited"] = coins_credited
        if coins_clawed_back is not UNSET:
            field_dict["coins_clawed_back"] = coins_clawed_back
        if coins_in_wallets is not UNSET:
            field_dict["coins_in_wallets"] = coins_in_wallets
        if coins_spent_on_gifts is not UNSET:
            field_dict["coins_spent_on_gifts"] = coins_spent_on_gifts
        if diamonds_owed is not UNSET:
            field_dict["diamonds_owed"] = diamonds_owed
        if wallets_below_zero is not UNSET:
            field_dict["wallets_below_zero"] = wallets_below_zero
        if wallets_ledger_mismatch is not UNSET:
            field_dict["wallets_ledger_mismatch"] = wallets_ledger_mismatch

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gifting_totals_events_applied import GiftingTotalsEventsApplied  # noqa: PLC0415
        from ..models.gifting_totals_events_published import GiftingTotalsEventsPublished  # noqa: PLC0415
        from ..models.gifting_totals_events_written import GiftingTotalsEventsWritten  # noqa: PLC0415

        d = dict(src_dict)
        _events_written = d.pop("events_written", UNSET)
        events_written: GiftingTotalsEventsWritten | Unset
        if isinstance(_events_written, Unset):
            events_written = UNSET
        else:
            events_written = GiftingTotalsEventsWritten.from_dict(_events_written)

        _events_published = d.pop("events_published", UNSET)
        events_published: GiftingTotalsEventsPublished | Unset
        if isinstance(_events_published, Unset):
            events_published = UNSET
        else:
            events_published = GiftingTotalsEventsPublished.from_dict(_events_published)

        _events_applied = d.pop("events_applied", UNSET)
        events_applied: GiftingTotalsEventsApplied | Unset
        if isinstance(_events_applied, Unset):
            events_applied = UNSET
        else:
            events_applied = GiftingTotalsEventsApplied.from_dict(_events_applied)

        coins_credited = d.pop("coins_credited", UNSET)

        coins_clawed_back = d.pop("coins_clawed_back", UNSET)

        coins_in_wallets = d.pop("coins_in_wallets", UNSET)

        coins_spent_on_gifts = d.pop("coins_spent_on_gifts", UNSET)

        diamonds_owed = d.pop("diamonds_owed", UNSET)

        wallets_below_zero = d.pop("wallets_below_zero", UNSET)

        wallets_ledger_mismatch = cast(list[str], d.pop("wallets_ledger_mismatch", UNSET))

        gifting_totals = cls(
            events_written=events_written,
            events_published=events_published,
            events_applied=events_applied,
            coins_credited=coins_credited,
            coins_clawed_back=coins_clawed_back,
            coins_in_wallets=coins_in_wallets,
            coins_spent_on_gifts=coins_spent_on_gifts,
            diamonds_owed=diamonds_owed,
            wallets_below_zero=wallets_below_zero,
            wallets_ledger_mismatch=wallets_ledger_mismatch,
        )

        return gifting_totals
