from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="InternalAccountWithdrawal")


@_attrs_define
class InternalAccountWithdrawal:
    """
    Attributes:
        withdrawal_id (str | Unset):
        diamonds (int | Unset):
        status (str | Unset):
    """

    withdrawal_id: str | Unset = UNSET
    diamonds: int | Unset = UNSET
    status: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        withdrawal_id = self.withdrawal_id

        diamonds = self.diamonds

        status = self.status

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if withdrawal_id is not UNSET:
            field_dict["withdrawal_id"] = withdrawal_id
        if diamonds is not UNSET:
            field_dict["diamonds"] = diamonds
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        withdrawal_id = d.pop("withdrawal_id", UNSET)

        diamonds = d.pop("diamonds", UNSET)

        status = d.pop("status", UNSET)

        internal_account_withdrawal = cls(
            withdrawal_id=withdrawal_id,
            diamonds=diamonds,
            status=status,
        )

        return internal_account_withdrawal
