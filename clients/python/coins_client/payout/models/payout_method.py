from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.payout_method_type import PayoutMethodType

T = TypeVar("T", bound="PayoutMethod")


@_attrs_define
class PayoutMethod:
    """
    Attributes:
        type_ (PayoutMethodType):  Example: paypal.
        account (str):  Example: cat@example.com.
    """

    type_: PayoutMethodType
    account: str

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_.value

        account = self.account

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
                "account": account,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = PayoutMethodType(d.pop("type"))

        account = d.pop("account")

        payout_method = cls(
            type_=type_,
            account=account,
        )

        return payout_method
