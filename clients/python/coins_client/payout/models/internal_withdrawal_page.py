from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.internal_withdrawal import InternalWithdrawal
    from ..models.withdrawal_rules import WithdrawalRules


T = TypeVar("T", bound="InternalWithdrawalPage")


@_attrs_define
class InternalWithdrawalPage:
    """
    Attributes:
        withdrawals (list[InternalWithdrawal] | Unset):
        rules (WithdrawalRules | Unset):
        next_cursor (None | str | Unset): None after the last page
    """

    withdrawals: list[InternalWithdrawal] | Unset = UNSET
    rules: WithdrawalRules | Unset = UNSET
    next_cursor: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        withdrawals: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.withdrawals, Unset):
            withdrawals = []
            for withdrawals_item_data in self.withdrawals:
                withdrawals_item = withdrawals_item_data.to_dict()
                withdrawals.append(withdrawals_item)

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
        if withdrawals is not UNSET:
            field_dict["withdrawals"] = withdrawals
        if rules is not UNSET:
            field_dict["rules"] = rules
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.internal_withdrawal import InternalWithdrawal  # noqa: PLC0415
        from ..models.withdrawal_rules import WithdrawalRules  # noqa: PLC0415

        d = dict(src_dict)
        _withdrawals = d.pop("withdrawals", UNSET)
        withdrawals: list[InternalWithdrawal] | Unset = UNSET
        if _withdrawals is not UNSET:
            withdrawals = []
            for withdrawals_item_data in _withdrawals:
                withdrawals_item = InternalWithdrawal.from_dict(withdrawals_item_data)

                withdrawals.append(withdrawals_item)

        _rules = d.pop("rules", UNSET)
        rules: WithdrawalRules | Unset
        if isinstance(_rules, Unset):
            rules = UNSET
        else:
            rules = WithdrawalRules.from_dict(_rules)

        def _parse_next_cursor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor", UNSET))

        internal_withdrawal_page = cls(
            withdrawals=withdrawals,
            rules=rules,
            next_cursor=next_cursor,
        )

        return internal_withdrawal_page
