from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.package import Package


T = TypeVar("T", bound="Packages")


@_attrs_define
class Packages:
    """
    Attributes:
        country (str | Unset):  Example: US.
        currency (str | Unset):  Example: USD.
        minor_unit_digits (int | Unset):  Example: 2.
        packages (list[Package] | Unset):
    """

    country: str | Unset = UNSET
    currency: str | Unset = UNSET
    minor_unit_digits: int | Unset = UNSET
    packages: list[Package] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        country = self.country

        currency = self.currency

        minor_unit_digits = self.minor_unit_digits

        packages: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.packages, Unset):
            packages = []
            for packages_item_data in self.packages:
                packages_item = packages_item_data.to_dict()
                packages.append(packages_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if country is not UNSET:
            field_dict["country"] = country
        if currency is not UNSET:
            field_dict["currency"] = currency
        if minor_unit_digits is not UNSET:
            field_dict["minor_unit_digits"] = minor_unit_digits
        if packages is not UNSET:
            field_dict["packages"] = packages

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.package import Package  # noqa: PLC0415

        d = dict(src_dict)
        country = d.pop("country", UNSET)

        currency = d.pop("currency", UNSET)

        minor_unit_digits = d.pop("minor_unit_digits", UNSET)

        _packages = d.pop("packages", UNSET)
        packages: list[Package] | Unset = UNSET
        if _packages is not UNSET:
            packages = []
            for packages_item_data in _packages:
                packages_item = Package.from_dict(packages_item_data)

                packages.append(packages_item)

        packages = cls(
            country=country,
            currency=currency,
            minor_unit_digits=minor_unit_digits,
            packages=packages,
        )

        return packages
