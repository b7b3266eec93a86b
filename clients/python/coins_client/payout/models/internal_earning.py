from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="InternalEarning")


@_attrs_define
class InternalEarning:
    """
    Attributes:
        gift_tx_id (str | Unset):
        creator_id (str | Unset):
        diamonds (int | Unset):
    """

    gift_tx_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    diamonds: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        gift_tx_id = self.gift_tx_id

        creator_id = self.creator_id

        diamonds = self.diamonds

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if gift_tx_id is not UNSET:
            field_dict["gift_tx_id"] = gift_tx_id
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if diamonds is not UNSET:
            field_dict["diamonds"] = diamonds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        gift_tx_id = d.pop("gift_tx_id", UNSET)

        creator_id = d.pop("creator_id", UNSET)

        diamonds = d.pop("diamonds", UNSET)

        internal_earning = cls(
            gift_tx_id=gift_tx_id,
            creator_id=creator_id,
            diamonds=diamonds,
        )

        return internal_earning
