from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="FeeRule")


@_attrs_define
class FeeRule:
    """
    Attributes:
        basis_points (int | Unset):
        fixed_minor (int | Unset):
    """

    basis_points: int | Unset = UNSET
    fixed_minor: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        basis_points = self.basis_points

        fixed_minor = self.fixed_minor

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if basis_points is not UNSET:
            field_dict["basis_points"] = basis_points
        if fixed_minor is not UNSET:
            field_dict["fixed_minor"] = fixed_minor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        basis_points = d.pop("basis_points", UNSET)

        fixed_minor = d.pop("fixed_minor", UNSET)

        fee_rule = cls(
            basis_points=basis_points,
            fixed_minor=fixed_minor,
        )

        return fee_rule
