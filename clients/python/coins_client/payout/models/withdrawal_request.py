from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.withdrawal_request_currency import WithdrawalRequestCurrency
from ..types import UNSET, Unset

T = TypeVar("T", bound="WithdrawalRequest")


@_attrs_define
class WithdrawalRequest:
    """
    Attributes:
        creator_id (str):  Example: cat.
        amount_minor (int): Gross amount in USD cents Example: 2500.
        currency (WithdrawalRequestCurrency | Unset):  Default: WithdrawalRequestCurrency.USD. Example: USD.
    """

    creator_id: str
    amount_minor: int
    currency: WithdrawalRequestCurrency | Unset = WithdrawalRequestCurrency.USD

    def to_dict(self) -> dict[str, Any]:
        creator_id = self.creator_id

        amount_minor = self.amount_minor

        currency: str | Unset = UNSET
        if not isinstance(self.currency, Unset):
            currency = self.currency.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "creator_id": creator_id,
                "amount_minor": amount_minor,
            }
        )
        if currency is not UNSET:
            field_dict["currency"] = currency

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        creator_id = d.pop("creator_id")

        amount_minor = d.pop("amount_minor")

        _currency = d.pop("currency", UNSET)
        currency: WithdrawalRequestCurrency | Unset
        if isinstance(_currency, Unset):
            currency = UNSET
        else:
            currency = WithdrawalRequestCurrency(_currency)

        withdrawal_request = cls(
            creator_id=creator_id,
            amount_minor=amount_minor,
            currency=currency,
        )

        return withdrawal_request
