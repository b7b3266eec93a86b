from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.internal_purchase import InternalPurchase


T = TypeVar("T", bound="InternalPurchasePage")


@_attrs_define
class InternalPurchasePage:
    """
    Attributes:
        purchases (list[InternalPurchase] | Unset):
        next_cursor (None | str | Unset): None after the last page
    """

    purchases: list[InternalPurchase] | Unset = UNSET
    next_cursor: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        purchases: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.purchases, Unset):
            purchases = []
            for purchases_item_data in self.purchases:
                purchases_item = purchases_item_data.to_dict()
                purchases.append(purchases_item)

        next_cursor: None | str | Unset
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if purchases is not UNSET:
            field_dict["purchases"] = purchases
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.internal_purchase import InternalPurchase  # noqa: PLC0415

        d = dict(src_dict)
        _purchases = d.pop("purchases", UNSET)
        purchases: list[InternalPurchase] | Unset = UNSET
        if _purchases is not UNSET:
            purchases = []
            for purchases_item_data in _purchases:
                purchases_item = InternalPurchase.from_dict(purchases_item_data)

                purchases.append(purchases_item)

        def _parse_next_cursor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor", UNSET))

        internal_purchase_page = cls(
            purchases=purchases,
            next_cursor=next_cursor,
        )

        return internal_purchase_page
