from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.internal_account import InternalAccount


T = TypeVar("T", bound="InternalAccountPage")


@_attrs_define
class InternalAccountPage:
    """
    Attributes:
        accounts (list[InternalAccount] | Unset):
        next_cursor (None | str | Unset): None after the last page
    """

    accounts: list[InternalAccount] | Unset = UNSET
    next_cursor: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        accounts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.accounts, Unset):
            accounts = []
            for accounts_item_data in self.accounts:
                accounts_item = accounts_item_data.to_dict()
                accounts.append(accounts_item)

        next_cursor: None | str | Unset
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if accounts is not UNSET:
            field_dict["accounts"] = accounts
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.internal_account import InternalAccount  # noqa: PLC0415

        d = dict(src_dict)
        _accounts = d.pop("accounts", UNSET)
        accounts: list[InternalAccount] | Unset = UNSET
        if _accounts is not UNSET:
            accounts = []
            for accounts_item_data in _accounts:
                accounts_item = InternalAccount.from_dict(accounts_item_data)

                accounts.append(accounts_item)

        def _parse_next_cursor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor", UNSET))

        internal_account_page = cls(
            accounts=accounts,
            next_cursor=next_cursor,
        )

        return internal_account_page
