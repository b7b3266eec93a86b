from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.payout_method_change import PayoutMethodChange


T = TypeVar("T", bound="MethodHoldLift")


@_attrs_define
class MethodHoldLift:
    """
    Attributes:
        change (PayoutMethodChange | Unset):
        withdrawals_released (int | Unset): Withdrawals that waited out the hold and are sent now Example: 1.
    """

    change: PayoutMethodChange | Unset = UNSET
    withdrawals_released: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        change: dict[str, Any] | Unset = UNSET
        if not isinstance(self.change, Unset):
            change = self.change.to_dict()

        withdrawals_released = self.withdrawals_released

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if change is not UNSET:
            field_dict["change"] = change
        if withdrawals_released is not UNSET:
            field_dict["withdrawals_released"] = withdrawals_released

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payout_method_change import PayoutMethodChange  # noqa: PLC0415

        d = dict(src_dict)
        _change = d.pop("change", UNSET)
        change: PayoutMethodChange | Unset
        if isinstance(_change, Unset):
            change = UNSET
        else:
            change = PayoutMethodChange.from_dict(_change)

        withdrawals_released = d.pop("withdrawals_released", UNSET)

        method_hold_lift = cls(
            change=change,
            withdrawals_released=withdrawals_released,
        )

        return method_hold_lift
