from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.internal_account_withdrawal import InternalAccountWithdrawal


T = TypeVar("T", bound="InternalAccount")


@_attrs_define
class InternalAccount:
    """
    Attributes:
        creator_id (str | Unset):
        credited_diamonds (int | Unset):
        reserved_diamonds (int | Unset):
        withdrawn_diamonds (int | Unset):
        withdrawals (list[InternalAccountWithdrawal] | Unset): Read in the same snapshot
    """

    creator_id: str | Unset = UNSET
    credited_diamonds: int | Unset = UNSET
    reserved_diamonds: int | Unset = UNSET
    withdrawn_diamonds: int | Unset = UNSET
    withdrawals: list[InternalAccountWithdrawal] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        creator_id = self.creator_id

        credited_diamonds = self.credited_diamonds

        reserved_diamonds = self.reserved_diamonds

        withdrawn_diamonds = self.withdrawn_diamonds

        withdrawals: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.withdrawals, Unset):
            withdrawals = []
            for withdrawals_item_data in self.withdrawals:
                withdrawals_item = withdrawals_item_data.to_dict()
                withdrawals.append(withdrawals_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if credited_diamonds is not UNSET:
            field_dict["credited_diamonds"] = credited_diamonds
        if reserved_diamonds is not UNSET:
            field_dict["reserved_diamonds"] = reserved_diamonds
        if withdrawn_diamonds is not UNSET:
            field_dict["withdrawn_diamonds"] = withdrawn_diamonds
        if withdrawals is not UNSET:
            field_dict["withdrawals"] = withdrawals

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.internal_account_withdrawal import InternalAccountWithdrawal  # noqa: PLC0415

        d = dict(src_dict)
        creator_id = d.pop("creator_id", UNSET)

        credited_diamonds = d.pop("credited_diamonds", UNSET)

        reserved_diamonds = d.pop("reserved_diamonds", UNSET)

        withdrawn_diamonds = d.pop("withdrawn_diamonds", UNSET)

        _withdrawals = d.pop("withdrawals", UNSET)
        withdrawals: list[InternalAccountWithdrawal] | Unset = UNSET
        if _withdrawals is not UNSET:
            withdrawals = []
            for withdrawals_item_data in _withdrawals:
                withdrawals_item = InternalAccountWithdrawal.from_dict(withdrawals_item_data)

                withdrawals.append(withdrawals_item)

        internal_account = cls(
            creator_id=creator_id,
            credited_diamonds=credited_diamonds,
            reserved_diamonds=reserved_diamonds,
            withdrawn_diamonds=withdrawn_diamonds,
            withdrawals=withdrawals,
        )

        return internal_account
