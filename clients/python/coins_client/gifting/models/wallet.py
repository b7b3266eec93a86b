from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.wallet_status import WalletStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="Wallet")


@_attrs_define
class Wallet:
    """
    Attributes:
        user_id (str | Unset):  Example: ann.
        balance (int | Unset): Coins; negative only after a chargeback Example: 65.
        status (WalletStatus | Unset):  Example: active.
    """

    user_id: str | Unset = UNSET
    balance: int | Unset = UNSET
    status: WalletStatus | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        balance = self.balance

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if balance is not UNSET:
            field_dict["balance"] = balance
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_id = d.pop("user_id", UNSET)

        balance = d.pop("balance", UNSET)

        _status = d.pop("status", UNSET)
        status: WalletStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = WalletStatus(_status)

        wallet = cls(
            user_id=user_id,
            balance=balance,
            status=status,
        )

        return wallet
