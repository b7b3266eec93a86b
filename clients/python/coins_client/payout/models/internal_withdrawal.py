from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="InternalWithdrawal")


@_attrs_define
class InternalWithdrawal:
    """
    Attributes:
        withdrawal_id (str | Unset):
        creator_id (str | Unset):
        diamonds (int | Unset):
        gross_minor (int | Unset):
        fee_minor (int | Unset):
        net_minor (int | Unset):
        currency (str | Unset):
        payout_method (str | Unset):
        status (str | Unset):
        attempts (int | Unset):
    """

    withdrawal_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    diamonds: int | Unset = UNSET
    gross_minor: int | Unset = UNSET
    fee_minor: int | Unset = UNSET
    net_minor: int | Unset = UNSET
    currency: str | Unset = UNSET
    payout_method: str | Unset = UNSET
    status: str | Unset = UNSET
    attempts: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        withdrawal_id = self.withdrawal_id

        creator_id = self.creator_id

        diamonds = self.diamonds

        gross_minor = self.gross_minor

        fee_minor = self.fee_minor

        net_minor = self.net_minor

        currency = self.currency

        payout_method = self.payout_method

        status = self.status

        attempts = self.attempts

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if withdrawal_id is not UNSET:
            field_dict["withdrawal_id"] = withdrawal_id
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if diamonds is not UNSET:
            field_dict["diamonds"] = diamonds
        if gross_minor is not UNSET:
            field_dict["gross_minor"] = gross_minor
        if fee_minor is not UNSET:
            field_dict["fee_minor"] = fee_minor
        if net_minor is not UNSET:
            field_dict["net_minor"] = net_minor
        if currency is not UNSET:
            field_dict["currency"] = currency
        if payout_method is not UNSET:
            field_dict["payout_method"] = payout_method
        if status is not UNSET:
            field_dict["status"] = status
        if attempts is not UNSET:
            field_dict["attempts"] = attempts

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        withdrawal_id = d.pop("withdrawal_id", UNSET)

        creator_id = d.pop("creator_id", UNSET)

        diamonds = d.pop("diamonds", UNSET)

        gross_minor = d.pop("gross_minor", UNSET)

        fee_minor = d.pop("fee_minor", UNSET)

        net_minor = d.pop("net_minor", UNSET)

        currency = d.pop("currency", UNSET)

        payout_method = d.pop("payout_method", UNSET)

        status = d.pop("status", UNSET)

        attempts = d.pop("attempts", UNSET)

        internal_withdrawal = cls(
            withdrawal_id=withdrawal_id,
            creator_id=creator_id,
            diamonds=diamonds,
            gross_minor=gross_minor,
            fee_minor=fee_minor,
            net_minor=net_minor,
            currency=currency,
            payout_method=payout_method,
            status=status,
            attempts=attempts,
        )

        return internal_withdrawal
