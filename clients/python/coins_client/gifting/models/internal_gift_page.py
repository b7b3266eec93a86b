from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gift_rules import GiftRules
    from ..models.internal_gift import InternalGift


T = TypeVar("T", bound="InternalGiftPage")


@_attrs_define
class InternalGiftPage:
    """
    Attributes:
        gifts (list[InternalGift] | Unset):
        rules (GiftRules | Unset):
        next_cursor (None | str | Unset): None after the last page
    """

    gifts: list[InternalGift] | Unset = UNSET
    rules: GiftRules | Unset = UNSET
    next_cursor: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        gifts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.gifts, Unset):
            gifts = []
            for gifts_item_data in self.gifts:
                gifts_item = gifts_item_data.to_dict()
                gifts.append(gifts_item)

        rules: dict[str, Any] | Unset = UNSET
        if not isinstance(self.rules, Unset):
            rules = self.rules.to_dict()

        next_cursor: None | str | Unset
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if gifts is not UNSET:
            field_dict["gifts"] = gifts
        if rules is not UNSET:
            field_dict["rules"] = rules
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gift_rules import GiftRules  # noqa: PLC0415
        from ..models.internal_gift import InternalGift  # noqa: PLC0415

        d = dict(src_dict)
        _gifts = d.pop("gifts", UNSET)
        gifts: list[InternalGift] | Unset = UNSET
        if _gifts is not UNSET:
            gifts = []
            for gifts_item_data in _gifts:
                gifts_item = InternalGift.from_dict(gifts_item_data)

                gifts.append(gifts_item)

        _rules = d.pop("rules", UNSET)
        rules: GiftRules | Unset
        if isinstance(_rules, Unset):
            rules = UNSET
        else:
            rules = GiftRules.from_dict(_rules)

        def _parse_next_cursor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor", UNSET))

        internal_gift_page = cls(
            gifts=gifts,
            rules=rules,
            next_cursor=next_cursor,
        )

        return internal_gift_page
