from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gift_catalog_item import GiftCatalogItem


T = TypeVar("T", bound="Catalog")


@_attrs_define
class Catalog:
    """
    Attributes:
        gifts (list[GiftCatalogItem] | Unset):
    """

    gifts: list[GiftCatalogItem] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        gifts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.gifts, Unset):
            gifts = []
            for gifts_item_data in self.gifts:
                gifts_item = gifts_item_data.to_dict()
                gifts.append(gifts_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if gifts is not UNSET:
            field_dict["gifts"] = gifts

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gift_catalog_item import GiftCatalogItem  # noqa: PLC0415

        d = dict(src_dict)
        _gifts = d.pop("gifts", UNSET)
        gifts: list[GiftCatalogItem] | Unset = UNSET
        if _gifts is not UNSET:
            gifts = []
            for gifts_item_data in _gifts:
                gifts_item = GiftCatalogItem.from_dict(gifts_item_data)

                gifts.append(gifts_item)

        catalog = cls(
            gifts=gifts,
        )

        return catalog
