from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

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
        changed_by (str | Unset): The calling service that made the change Example: gateway.
        requested_by (None | str | Unset): The end user who asked (null: recorded before this was) Example: cat.
        changed_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        hold_until (datetime.datetime | None | Unset): New withdrawals wait until then (their send_after) Example:
            2026-12-04T11:40:00.123456+00:00.
        hold_lifted_at (datetime.datetime | None | Unset): An operator ended the hold then (null: not lifted)
        hold_lifted_by (None | str | Unset): The calling service that lifted it
        hold_lift_requested_by (None | str | Unset): The operator who asked
        hold_lift_reason (None | str | Unset): Why the hold was lifted
    """

    change_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    previous: PayoutMethodChangePrevious | Unset = UNSET
    payout_method: PayoutMethodChangePayoutMethod | Unset = UNSET
    changed_by: str | Unset = UNSET
    requested_by: None | str | Unset = UNSET
    changed_at: datetime.datetime | Unset = UNSET
    hold_until: datetime.datetime | None | Unset = UNSET
    hold_lifted_at: datetime.datetime | None | Unset = UNSET
    hold_lifted_by: None | str | Unset = UNSET
    hold_lift_requested_by: None | str | Unset = UNSET
    hold_lift_reason: None | str | Unset = UNSET

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

        requested_by: None | str | Unset
        if isinstance(self.requested_by, Unset):
            requested_by = UNSET
        else:
            requested_by = self.requested_by

        changed_at: str | Unset = UNSET
        if not isinstance(self.changed_at, Unset):
            changed_at = self.changed_at.isoformat()

        hold_until: None | str | Unset
        if isinstance(self.hold_until, Unset):
            hold_until = UNSET
        elif isinstance(self.hold_until, datetime.datetime):
            hold_until = self.hold_until.isoformat()
        else:
            hold_until = self.hold_until

        hold_lifted_at: None | str | Unset
        if isinstance(self.hold_lifted_at, Unset):
            hold_lifted_at = UNSET
        elif isinstance(self.hold_lifted_at, datetime.datetime):
            hold_lifted_at = self.hold_lifted_at.isoformat()
        else:
            hold_lifted_at = self.hold_lifted_at

        hold_lifted_by: None | str | Unset
        if isinstance(self.hold_lifted_by, Unset):
            hold_lifted_by = UNSET
        else:
            hold_lifted_by = self.hold_lifted_by

        hold_lift_requested_by: None | str | Unset
        if isinstance(self.hold_lift_requested_by, Unset):
            hold_lift_requested_by = UNSET
        else:
            hold_lift_requested_by = self.hold_lift_requested_by

        hold_lift_reason: None | str | Unset
        if isinstance(self.hold_lift_reason, Unset):
            hold_lift_reason = UNSET
        else:
            hold_lift_reason = self.hold_lift_reason

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
        if requested_by is not UNSET:
            field_dict["requested_by"] = requested_by
        if changed_at is not UNSET:
            field_dict["changed_at"] = changed_at
        if hold_until is not UNSET:
            field_dict["hold_until"] = hold_until
        if hold_lifted_at is not UNSET:
            field_dict["hold_lifted_at"] = hold_lifted_at
        if hold_lifted_by is not UNSET:
            field_dict["hold_lifted_by"] = hold_lifted_by
        if hold_lift_requested_by is not UNSET:
            field_dict["hold_lift_requested_by"] = hold_lift_requested_by
        if hold_lift_reason is not UNSET:
            field_dict["hold_lift_reason"] = hold_lift_reason

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

        def _parse_requested_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        requested_by = _parse_requested_by(d.pop("requested_by", UNSET))

        _changed_at = d.pop("changed_at", UNSET)
        changed_at: datetime.datetime | Unset
        if isinstance(_changed_at, Unset):
            changed_at = UNSET
        else:
            changed_at = datetime.datetime.fromisoformat(_changed_at)

        def _parse_hold_until(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                hold_until_type_0 = datetime.datetime.fromisoformat(data)

                return hold_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        hold_until = _parse_hold_until(d.pop("hold_until", UNSET))

        def _parse_hold_lifted_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                hold_lifted_at_type_0 = datetime.datetime.fromisoformat(data)

                return hold_lifted_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        hold_lifted_at = _parse_hold_lifted_at(d.pop("hold_lifted_at", UNSET))

        def _parse_hold_lifted_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hold_lifted_by = _parse_hold_lifted_by(d.pop("hold_lifted_by", UNSET))

        def _parse_hold_lift_requested_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hold_lift_requested_by = _parse_hold_lift_requested_by(d.pop("hold_lift_requested_by", UNSET))

        def _parse_hold_lift_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hold_lift_reason = _parse_hold_lift_reason(d.pop("hold_lift_reason", UNSET))

        payout_method_change = cls(
            change_id=change_id,
            creator_id=creator_id,
            previous=previous,
            payout_method=payout_method,
            changed_by=changed_by,
            requested_by=requested_by,
            changed_at=changed_at,
            hold_until=hold_until,
            hold_lifted_at=hold_lifted_at,
            hold_lifted_by=hold_lifted_by,
            hold_lift_requested_by=hold_lift_requested_by,
            hold_lift_reason=hold_lift_reason,
        )

        return payout_method_change
