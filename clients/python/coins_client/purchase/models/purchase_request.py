from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.payment import Payment


T = TypeVar("T", bound="PurchaseRequest")


@_attrs_define
class PurchaseRequest:
    """
    Attributes:
        user_id (str):  Example: ann.
        country (str):  Example: US.
        birth_date (datetime.date):  Example: 1990-04-01.
        payment (Payment):
        package_id (str | Unset): A package of the price list; or give `coins` Example: coins_70.
        coins (int | Unset): A custom amount of coins; or give `package_id`
    """

    user_id: str
    country: str
    birth_date: datetime.date
    payment: Payment
    package_id: str | Unset = UNSET
    coins: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        country = self.country

        birth_date = self.birth_date.isoformat()

        payment = self.payment.to_dict()

        package_id = self.package_id

        coins = self.coins

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_id": user_id,
                "country": country,
                "birth_date": birth_date,
                "payment": payment,
            }
        )
        if package_id is not UNSET:
            field_dict["package_id"] = package_id
        if coins is not UNSET:
            field_dict["coins"] = coins

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payment import Payment  # noqa: PLC0415

        d = dict(src_dict)
        user_id = d.pop("user_id")

        country = d.pop("country")

        birth_date = datetime.date.fromisoformat(d.pop("birth_date"))

        payment = Payment.from_dict(d.pop("payment"))

        package_id = d.pop("package_id", UNSET)

        coins = d.pop("coins", UNSET)

        purchase_request = cls(
            user_id=user_id,
            country=country,
            birth_date=birth_date,
            payment=payment,
            package_id=package_id,
            coins=coins,
        )

        return purchase_request
