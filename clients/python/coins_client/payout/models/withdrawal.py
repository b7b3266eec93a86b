from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.withdrawal_status import WithdrawalStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="Withdrawal")


@_attrs_define
class Withdrawal:
    """
    Attributes:
        withdrawal_id (str | Unset):  Example: 01938a73-3e4f-7a51-9b6c-7d8e9fa0b1c2.
        creator_id (str | Unset):  Example: cat.
        status (WithdrawalStatus | Unset):  Example: pending.
        diamonds (int | Unset):  Example: 5000.
        gross_minor (int | Unset):  Example: 2500.
        fee_minor (int | Unset):  Example: 103.
        net_minor (int | Unset):  Example: 2397.
        currency (str | Unset):  Example: USD.
        payout_method (str | Unset):  Example: paypal.
        failure_reason (None | str | Unset):
        created_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        settled_at (datetime.datetime | None | Unset):
        send_after (datetime.datetime | None | Unset): Asked for in a payout method change's hold: not sent before this
            (null: at once)
    """

    withdrawal_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    status: WithdrawalStatus | Unset = UNSET
    diamonds: int | Unset = UNSET
    gross_minor: int | Unset = UNSET
    fee_minor: int | Unset = UNSET
    net_minor: int | Unset = UNSET
    currency: str | Unset = UNSET
    payout_method: str | Unset = UNSET
    failure_reason: None | str | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    settled_at: datetime.datetime | None | Unset = UNSET
    send_after: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        withdrawal_id = self.withdrawal_id

        creator_id = self.creator_id

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        diamonds = self.diamonds

        gross_minor = self.gross_minor

        fee_minor = self.fee_minor

        net_minor = self.net_minor

        currency = self.currency

        payout_method = self.payout_method

        failure_reason: None | str | Unset
        if isinstance(self.failure_reason, Unset):
            failure_reason = UNSET
        else:
            failure_reason = self.failure_reason

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        settled_at: None | str | Unset
        if isinstance(self.settled_at, Unset):
            settled_at = UNSET
        elif isinstance(self.settled_at, datetime.datetime):
            settled_at = self.settled_at.isoformat()
        else:
            settled_at = self.settled_at

        send_after: None | str | Unset
        if isinstance(self.send_after, Unset):
            send_after = UNSET
        elif isinstance(self.send_after, datetime.datetime):
            send_after = self.send_after.isoformat()
        else:
            send_after = self.send_after

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if withdrawal_id is not UNSET:
            field_dict["withdrawal_id"] = withdrawal_id
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if status is not UNSET:
            field_dict["status"] = status
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
        if failure_reason is not UNSET:
            field_dict["failure_reason"] = failure_reason
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if settled_at is not UNSET:
            field_dict["settled_at"] = settled_at
        if send_after is not UNSET:
            field_dict["send_after"] = send_after

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        withdrawal_id = d.pop("withdrawal_id", UNSET)

        creator_id = d.pop("creator_id", UNSET)

        _status = d.pop("status", UNSET)
        status: WithdrawalStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = WithdrawalStatus(_status)

        diamonds = d.pop("diamonds", UNSET)

        gross_minor = d.pop("gross_minor", UNSET)

        fee_minor = d.pop("fee_minor", UNSET)

        net_minor = d.pop("net_minor", UNSET)

        currency = d.pop("currency", UNSET)

        payout_method = d.pop("payout_method", UNSET)

        def _parse_failure_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        failure_reason = _parse_failure_reason(d.pop("failure_reason", UNSET))

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        def _parse_settled_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                settled_at_type_0 = datetime.datetime.fromisoformat(data)

                return settled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        settled_at = _parse_settled_at(d.pop("settled_at", UNSET))

        def _parse_send_after(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                send_after_type_0 = datetime.datetime.fromisoformat(data)

                return send_after_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        send_after = _parse_send_after(d.pop("send_after", UNSET))

        withdrawal = cls(
            withdrawal_id=withdrawal_id,
            creator_id=creator_id,
            status=status,
            diamonds=diamonds,
            gross_minor=gross_minor,
            fee_minor=fee_minor,
            net_minor=net_minor,
            currency=currency,
            payout_method=payout_method,
            failure_reason=failure_reason,
            created_at=created_at,
            settled_at=settled_at,
            send_after=send_after,
        )

        return withdrawal
