from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.internal_earning import InternalEarning


T = TypeVar("T", bound="InternalEarningPage")


@_attrs_define
class InternalEarningPage:
    """
    Attributes:
        earnings (list[InternalEarning] | Unset):
        next_cursor (None | str | Unset): None after the last page
    """

    earnings: list[InternalEarning] | Unset = UNSET
    next_cursor: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        earnings: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.earnings, Unset):
            earnings = []
            for earnings_item_data in self.earnings:
                earnings_item = earnings_item_data.to_dict()
                earnings.append(earnings_item)

        next_cursor: None | str | Unset
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if earnings is not UNSET:
            field_dict["earnings"] = earnings
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.internal_earning import InternalEarning  # noqa: PLC0415

        d = dict(src_dict)
        _earnings = d.pop("earnings", UNSET)
        earnings: list[InternalEarning] | Unset = UNSET
        if _earnings is not UNSET:
            earnings = []
            for earnings_item_data in _earnings:
                earnings_item = InternalEarning.from_dict(earnings_item_data)

                earnings.append(earnings_item)

        def _parse_next_cursor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor", UNSET))

        internal_earning_page = cls(
            earnings=earnings,
            next_cursor=next_cursor,
        )

        return internal_earning_page
