from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ChargebackRequest")


@_attrs_define
class ChargebackRequest:
    """
    Attributes:
        purchase_id (str):  Example: 01938a6e-7c1f-7a4b-9d2e-5f3c8b1a2d4e.
        reason (str):  Example: fraudulent.
    """

    purchase_id: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        purchase_id = self.purchase_id

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "purchase_id": purchase_id,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        purchase_id = d.pop("purchase_id")

        reason = d.pop("reason")

        chargeback_request = cls(
            purchase_id=purchase_id,
            reason=reason,
        )

        return chargeback_request
