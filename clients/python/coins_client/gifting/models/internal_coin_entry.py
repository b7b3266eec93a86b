from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="InternalCoinEntry")


@_attrs_define
class InternalCoinEntry:
    """
    Attributes:
        reference (str | Unset): the purchase id (a credit) or the chargeback id (a clawback)
        user_id (str | Unset):
        coins (int | Unset):
    """

    reference: str | Unset = UNSET
    user_id: str | Unset = UNSET
    coins: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        reference = self.reference

        user_id = self.user_id

        coins = self.coins

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if reference is not UNSET:
            field_dict["reference"] = reference
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if coins is not UNSET:
            field_dict["coins"] = coins

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        reference = d.pop("reference", UNSET)

        user_id = d.pop("user_id", UNSET)

        coins = d.pop("coins", UNSET)

        internal_coin_entry = cls(
            reference=reference,
            user_id=user_id,
            coins=coins,
        )

        return internal_coin_entry
