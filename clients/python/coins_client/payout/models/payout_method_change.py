from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.payout_method_change_payout_method import PayoutMethodChangePayoutMethod
    from ..models.payout_method_change_previous import PayoutMethodChangePrevious


T = TypeVar("T", bound="PayoutMethodChange")


@_attrs_define
class PayoutMethodChange:
    """
    Attributes:
        change_id (str | Unset):  Example: 01938a72-2d3e-7f40-8a5b-6c7d8e9fa0b1.
        creator_id (str | Unset):  Example: cat.
        previous (PayoutMethodChangePrevious | Unset):  Example: {'type': 'bank', 'account': '****6789'}.
        payout_method (PayoutMethodChangePayoutMethod | Unset):  Example: {'type': 'paypal', 'account':
            '***********.com'}.
        changed_by (str | Unset): The caller that made the change Example: gateway.
        changed_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
    """

    change_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    previous: PayoutMethodChangePrevious | Unset = UNSET
    payout_method: PayoutMethodChangePayoutMethod | Unset = UNSET
    changed_by: str | Unset = UNSET
    changed_at: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        change_id = self.change_id

        creator_id = self.creator_id

        previous: dict[str, Any] | Unset = UNSET
        if not isinstance(self.previous, Unset):
            previous = self.previous.to_dict()

        payout_method: dict[str, Any] | Unset = UNSET
        if not isinstance(self.payout_method, Unset):
            payout_method = self.payout_method.to_dict()

        changed_by = self.changed_by

        changed_at: str | Unset = UNSET
        if not isinstance(self.changed_at, Unset):
            changed_at = self.changed_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if change_id is not UNSET:
            field_dict["change_id"] = change_id
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if previous is not UNSET:
            field_dict["previous"] = previous
        if payout_method is not UNSET:
            field_dict["payout_method"] = payout_method
        if changed_by is not UNSET:
            field_dict["changed_by"] = changed_by
        if changed_at is not UNSET:
            field_dict["changed_at"] = changed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payout_method_change_payout_method import PayoutMethodChangePayoutMethod  # noqa: PLC0415
        from ..models.payout_method_change_previous import PayoutMethodChangePrevious  # noqa: PLC0415

        d = dict(src_dict)
        change_id = d.pop("change_id", UNSET)

        creator_id = d.pop("creator_id", UNSET)

        _previous = d.pop("previous", UNSET)
        previous: PayoutMethodChangePrevious | Unset
        if isinstance(_previous, Unset):
            previous = UNSET
        else:
            previous = PayoutMethodChangePrevious.from_dict(_previous)

        _payout_method = d.pop("payout_method", UNSET)
        payout_method: PayoutMethodChangePayoutMethod | Unset
        if isinstance(_payout_method, Unset):
            payout_method = UNSET
        else:
            payout_method = PayoutMethodChangePayoutMethod.from_dict(_payout_method)

        changed_by = d.pop("changed_by", UNSET)

        _changed_at = d.pop("changed_at", UNSET)
        changed_at: datetime.datetime | Unset
        if isinstance(_changed_at, Unset):
            changed_at = UNSET
        else:
            changed_at = datetime.datetime.fromisoformat(_changed_at)

        payout_method_change = cls(
            change_id=change_id,
            creator_id=creator_id,
            previous=previous,
            payout_method=payout_method,
            changed_by=changed_by,
            changed_at=changed_at,
        )

        return payout_method_change
