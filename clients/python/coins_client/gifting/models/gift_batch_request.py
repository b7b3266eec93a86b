from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.gift_batch_item import GiftBatchItem


T = TypeVar("T", bound="GiftBatchRequest")


@_attrs_define
class GiftBatchRequest:
    """
    Attributes:
        gifts (list[GiftBatchItem]):
    """

    gifts: list[GiftBatchItem]

    def to_dict(self) -> dict[str, Any]:
        gifts = []
        for gifts_item_data in self.gifts:
            gifts_item = gifts_item_data.to_dict()
            gifts.append(gifts_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "gifts": gifts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gift_batch_item import GiftBatchItem  # noqa: PLC0415

        d = dict(src_dict)
        gifts = []
        _gifts = d.pop("gifts")
        for gifts_item_data in _gifts:
            gifts_item = GiftBatchItem.from_dict(gifts_item_data)

            gifts.append(gifts_item)

        gift_batch_request = cls(
            gifts=gifts,
        )

        return gift_batch_request
