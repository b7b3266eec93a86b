from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="GiftCatalogItem")


@_attrs_define
class GiftCatalogItem:
    """
    Attributes:
        gift_id (str | Unset):  Example: rose.
        name (str | Unset):  Example: Rose.
        coins (int | Unset):  Example: 1.
    """

    gift_id: str | Unset = UNSET
    name: str | Unset = UNSET
    coins: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        gift_id = self.gift_id

        name = self.name

        coins = self.coins

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if gift_id is not UNSET:
            field_dict["gift_id"] = gift_id
        if name is not UNSET:
            field_dict["name"] = name
        if coins is not UNSET:
            field_dict["coins"] = coins

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        gift_id = d.pop("gift_id", UNSET)

        name = d.pop("name", UNSET)

        coins = d.pop("coins", UNSET)

        gift_catalog_item = cls(
            gift_id=gift_id,
            name=name,
            coins=coins,
        )

        return gift_catalog_item
