from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.purchase_status import PurchaseStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.purchase_price import PurchasePrice


T = TypeVar("T", bound="Purchase")


@_attrs_define
class Purchase:
    """
    Attributes:
        purchase_id (str | Unset):  Example: 01938a6e-7c1f-7a4b-9d2e-5f3c8b1a2d4e.
        user_id (str | Unset):  Example: ann.
        country (str | Unset):  Example: US.
        package_id (str | Unset):  Example: coins_70.
        coins (int | Unset):  Example: 70.
        price (PurchasePrice | Unset):  Example: {'amount_minor': 99, 'currency': 'USD'}.
        status (PurchaseStatus | Unset):  Example: completed.
        created_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        completed_at (datetime.datetime | None | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        reversed_at (datetime.datetime | None | Unset):
    """

    purchase_id: str | Unset = UNSET
    user_id: str | Unset = UNSET
    country: str | Unset = UNSET
    package_id: str | Unset = UNSET
    coins: int | Unset = UNSET
    price: PurchasePrice | Unset = UNSET
    status: PurchaseStatus | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    completed_at: datetime.datetime | None | Unset = UNSET
    reversed_at: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        purchase_id = self.purchase_id

        user_id = self.user_id

        country = self.country

        package_id = self.package_id

        coins = self.coins

        price: dict[str, Any] | Unset = UNSET
        if not isinstance(self.price, Unset):
            price = self.price.to_dict()

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        completed_at: None | str | Unset
        if isinstance(self.completed_at, Unset):
            completed_at = UNSET
        elif isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        reversed_at: None | str | Unset
        if isinstance(self.reversed_at, Unset):
            reversed_at = UNSET
        elif isinstance(self.reversed_at, datetime.datetime):
            reversed_at = self.reversed_at.isoformat()
        else:
            reversed_at = self.reversed_at

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if purchase_id is not UNSET:
            field_dict["purchase_id"] = purchase_id
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if country is not UNSET:
            field_dict["country"] = country
        if package_id is not UNSET:
            field_dict["package_id"] = package_id
        if coins is not UNSET:
            field_dict["coins"] = coins
        if price is not UNSET:
            field_dict["price"] = price
        if status is not UNSET:
            field_dict["status"] = status
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if completed_at is not UNSET:
            field_dict["completed_at"] = completed_at
        if reversed_at is not UNSET:
            field_dict["reversed_at"] = reversed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.purchase_price import PurchasePrice  # noqa: PLC0415

        d = dict(src_dict)
        purchase_id = d.pop("purchase_id", UNSET)

        user_id = d.pop("user_id", UNSET)

        country = d.pop("country", UNSET)

        package_id = d.pop("package_id", UNSET)

        coins = d.pop("coins", UNSET)

        _price = d.pop("price", UNSET)
        price: PurchasePrice | Unset
        if isinstance(_price, Unset):
            price = UNSET
        else:
            price = PurchasePrice.from_dict(_price)

        _status = d.pop("status", UNSET)
        status: PurchaseStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = PurchaseStatus(_status)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        def _parse_completed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        completed_at = _parse_completed_at(d.pop("completed_at", UNSET))

        def _parse_reversed_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reversed_at_type_0 = datetime.datetime.fromisoformat(data)

                return reversed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        reversed_at = _parse_reversed_at(d.pop("reversed_at", UNSET))

        purchase = cls(
            purchase_id=purchase_id,
            user_id=user_id,
            country=country,
            package_id=package_id,
            coins=coins,
            price=price,
            status=status,
            created_at=created_at,
            completed_at=completed_at,
            reversed_at=reversed_at,
        )

        return purchase
