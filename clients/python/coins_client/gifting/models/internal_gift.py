from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="InternalGift")


@_attrs_define
class InternalGift:
    """
    Attributes:
        gift_tx_id (str | Unset):
        creator_id (str | Unset):
        gift_id (str | Unset):
        quantity (int | Unset):
        coins_each (int | Unset):
        total_coins (int | Unset):
        diamonds (int | Unset):
    """

    gift_tx_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    gift_id: str | Unset = UNSET
    quantity: int | Unset = UNSET
    coins_each: int | Unset = UNSET
    total_coins: int | Unset = UNSET
    diamonds: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        gift_tx_id = self.gift_tx_id

        creator_id = self.creator_id

        gift_id = self.gift_id

        quantity = self.quantity

        coins_each = self.coins_each

        total_coins = self.total_coins

        diamonds = self.diamonds

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if gift_tx_id is not UNSET:
            field_dict["gift_tx_id"] = gift_tx_id
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if gift_id is not UNSET:
            field_dict["gift_id"] = gift_id
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if coins_each is not UNSET:
            field_dict["coins_each"] = coins_each
        if total_coins is not UNSET:
            field_dict["total_coins"] = total_coins
        if diamonds is not UNSET:
            field_dict["diamonds"] = diamonds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        gift_tx_id = d.pop("gift_tx_id", UNSET)

        creator_id = d.pop("creator_id", UNSET)

        gift_id = d.pop("gift_id", UNSET)

        quantity = d.pop("quantity", UNSET)

        coins_each = d.pop("coins_each", UNSET)

        total_coins = d.pop("total_coins", UNSET)

        diamonds = d.pop("diamonds", UNSET)

        internal_gift = cls(
            gift_tx_id=gift_tx_id,
            creator_id=creator_id,
            gift_id=gift_id,
            quantity=quantity,
            coins_each=coins_each,
            total_coins=total_coins,
            diamonds=diamonds,
        )

        return internal_gift
