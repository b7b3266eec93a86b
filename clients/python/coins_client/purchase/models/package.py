from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.package_price import PackagePrice


T = TypeVar("T", bound="Package")


@_attrs_define
class Package:
    """
    Attributes:
        package_id (str | Unset):  Example: coins_70.
        coins (int | Unset):  Example: 70.
        price (PackagePrice | Unset):  Example: {'amount_minor': 99, 'currency': 'USD'}.
    """

    package_id: str | Unset = UNSET
    coins: int | Unset = UNSET
    price: PackagePrice | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        package_id = self.package_id

        coins = self.coins

        price: dict[str, Any] | Unset = UNSET
        if not isinstance(self.price, Unset):
            price = self.price.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if package_id is not UNSET:
            field_dict["package_id"] = package_id
        if coins is not UNSET:
            field_dict["coins"] = coins
        if price is not UNSET:
            field_dict["price"] = price

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.package_price import PackagePrice  # noqa: PLC0415

        d = dict(src_dict)
        package_id = d.pop("package_id", UNSET)

        coins = d.pop("coins", UNSET)

        _price = d.pop("price", UNSET)
        price: PackagePrice | Unset
        if isinstance(_price, Unset):
            price = UNSET
        else:
            price = PackagePrice.from_dict(_price)

        package = cls(
            package_id=package_id,
            coins=coins,
            price=price,
        )

        return package
