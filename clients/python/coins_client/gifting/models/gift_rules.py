from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="GiftRules")


@_attrs_define
class GiftRules:
    """
    Attributes:
        diamonds_per_coin (int | Unset):
    """

    diamonds_per_coin: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        diamonds_per_coin = self.diamonds_per_coin

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if diamonds_per_coin is not UNSET:
            field_dict["diamonds_per_coin"] = diamonds_per_coin

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        diamonds_per_coin = d.pop("diamonds_per_coin", UNSET)

        gift_rules = cls(
            diamonds_per_coin=diamonds_per_coin,
        )

        return gift_rules
