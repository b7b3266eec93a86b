from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.withdrawal_rules_fees import WithdrawalRulesFees


T = TypeVar("T", bound="WithdrawalRules")


@_attrs_define
class WithdrawalRules:
    """
    Attributes:
        min_withdrawal_minor (int | Unset):
        diamonds_per_usd (int | Unset):
        fees (WithdrawalRulesFees | Unset):
    """

    min_withdrawal_minor: int | Unset = UNSET
    diamonds_per_usd: int | Unset = UNSET
    fees: WithdrawalRulesFees | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        min_withdrawal_minor = self.min_withdrawal_minor

        diamonds_per_usd = self.diamonds_per_usd

        fees: dict[str, Any] | Unset = UNSET
        if not isinstance(self.fees, Unset):
            fees = self.fees.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if min_withdrawal_minor is not UNSET:
            field_dict["min_withdrawal_minor"] = min_withdrawal_minor
        if diamonds_per_usd is not UNSET:
            field_dict["diamonds_per_usd"] = diamonds_per_usd
        if fees is not UNSET:
            field_dict["fees"] = fees

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.withdrawal_rules_fees import WithdrawalRulesFees  # noqa: PLC0415

        d = dict(src_dict)
        min_withdrawal_minor = d.pop("min_withdrawal_minor", UNSET)

        diamonds_per_usd = d.pop("diamonds_per_usd", UNSET)

        _fees = d.pop("fees", UNSET)
        fees: WithdrawalRulesFees | Unset
        if isinstance(_fees, Unset):
            fees = UNSET
        else:
            fees = WithdrawalRulesFees.from_dict(_fees)

        withdrawal_rules = cls(
            min_withdrawal_minor=min_withdrawal_minor,
            diamonds_per_usd=diamonds_per_usd,
            fees=fees,
        )

        return withdrawal_rules
