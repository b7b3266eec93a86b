from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.payout_method import PayoutMethod


T = TypeVar("T", bound="ChangePayoutMethodRequest")


@_attrs_define
class ChangePayoutMethodRequest:
    """
    Attributes:
        payout_method (PayoutMethod):
    """

    payout_method: PayoutMethod

    def to_dict(self) -> dict[str, Any]:
        payout_method = self.payout_method.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "payout_method": payout_method,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payout_method import PayoutMethod  # noqa: PLC0415

        d = dict(src_dict)
        payout_method = PayoutMethod.from_dict(d.pop("payout_method"))

        change_payout_method_request = cls(
            payout_method=payout_method,
        )

        return change_payout_method_request
