from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.chargeback_status import ChargebackStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="Chargeback")


@_attrs_define
class Chargeback:
    """
    Attributes:
        chargeback_id (str | Unset):  Example: 01938a70-1b2c-7d3e-8f40-a1b2c3d4e5f6.
        purchase_id (str | Unset):  Example: 01938a6e-7c1f-7a4b-9d2e-5f3c8b1a2d4e.
        user_id (str | Unset):  Example: ann.
        coins (int | Unset):  Example: 70.
        reason (str | Unset):  Example: fraudulent.
        created_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        status (ChargebackStatus | Unset): pending until the purchase settles; reversed: coins taken back; void: nothing
            was taken Example: reversed.
        settled_at (datetime.datetime | None | Unset):
    """

    chargeback_id: str | Unset = UNSET
    purchase_id: str | Unset = UNSET
    user_id: str | Unset = UNSET
    coins: int | Unset = UNSET
    reason: str | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    status: ChargebackStatus | Unset = UNSET
    settled_at: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        chargeback_id = self.chargeback_id

        purchase_id = self.purchase_id

        user_id = self.user_id

        coins = self.coins

        reason = self.reason

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        settled_at: None | str | Unset
        if isinstance(self.settled_at, Unset):
            settled_at = UNSET
        elif isinstance(self.settled_at, datetime.datetime):
            settled_at = self.settled_at.isoformat()
        else:
            settled_at = self.settled_at

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if chargeback_id is not UNSET:
            field_dict["chargeback_id"] = chargeback_id
        if purchase_id is not UNSET:
            field_dict["purchase_id"] = purchase_id
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if coins is not UNSET:
            field_dict["coins"] = coins
        if reason is not UNSET:
            field_dict["reason"] = reason
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if status is not UNSET:
            field_dict["status"] = status
        if settled_at is not UNSET:
            field_dict["settled_at"] = settled_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        chargeback_id = d.pop("chargeback_id", UNSET)

        purchase_id = d.pop("purchase_id", UNSET)

        user_id = d.pop("user_id", UNSET)

        coins = d.pop("coins", UNSET)

        reason = d.pop("reason", UNSET)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _status = d.pop("status", UNSET)
        status: ChargebackStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = ChargebackStatus(_status)

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

        chargeback = cls(
            chargeback_id=chargeback_id,
            purchase_id=purchase_id,
            user_id=user_id,
            coins=coins,
            reason=reason,
            created_at=created_at,
            status=status,
            settled_at=settled_at,
        )

        return chargeback
