from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="LiftMethodHoldRequest")


@_attrs_define
class LiftMethodHoldRequest:
    """
    Attributes:
        reason (str): Why, recorded with the change Example: owner confirmed.
        operator (str): Who asked, recorded too Example: alice.
    """

    reason: str
    operator: str

    def to_dict(self) -> dict[str, Any]:
        reason = self.reason

        operator = self.operator

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "reason": reason,
                "operator": operator,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reason = d.pop("reason")

        operator = d.pop("operator")

        lift_method_hold_request = cls(
            reason=reason,
            operator=operator,
        )

        return lift_method_hold_request
