from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.internal_purchase_chargeback_status_type_1 import InternalPurchaseChargebackStatusType1
from ..models.internal_purchase_chargeback_status_type_2_type_1 import InternalPurchaseChargebackStatusType2Type1
from ..models.internal_purchase_chargeback_status_type_3_type_1 import InternalPurchaseChargebackStatusType3Type1
from ..types import UNSET, Unset

T = TypeVar("T", bound="InternalPurchase")


@_attrs_define
class InternalPurchase:
    """
    Attributes:
        purchase_id (str | Unset):
        user_id (str | Unset):
        country (str | Unset):
        package_id (str | Unset):
        coins (int | Unset):
        amount_minor (int | Unset):
        currency (str | Unset):
        status (str | Unset):
        chargeback_id (None | str | Unset): The chargeback recorded, if any
        chargeback_coins (int | None | Unset):
        chargeback_status (InternalPurchaseChargebackStatusType1 | InternalPurchaseChargebackStatusType2Type1 |
            InternalPurchaseChargebackStatusType3Type1 | None | Unset):
    """

    purchase_id: str | Unset = UNSET
    user_id: str | Unset = UNSET
    country: str | Unset = UNSET
    package_id: str | Unset = UNSET
    coins: int | Unset = UNSET
    amount_minor: int | Unset = UNSET
    currency: str | Unset = UNSET
    status: str | Unset = UNSET
    chargeback_id: None | str | Unset = UNSET
    chargeback_coins: int | None | Unset = UNSET
    chargeback_status: (
        InternalPurchaseChargebackStatusType1
        | InternalPurchaseChargebackStatusType2Type1
        | InternalPurchaseChargebackStatusType3Type1
        | None
        | Unset
    ) = UNSET

    def to_dict(self) -> dict[str, Any]:
        purchase_id = self.purchase_id

        user_id = self.user_id

        country = self.country

        package_id = self.package_id

        coins = self.coins

        amount_minor = self.amount_minor

        currency = self.currency

        status = self.status

        chargeback_id: None | str | Unset
        if isinstance(self.chargeback_id, Unset):
            chargeback_id = UNSET
        else:
            chargeback_id = self.chargeback_id

        chargeback_coins: int | None | Unset
        if isinstance(self.chargeback_coins, Unset):
            chargeback_coins = UNSET
        else:
            chargeback_coins = self.chargeback_coins

        chargeback_status: None | str | Unset
        if isinstance(self.chargeback_status, Unset):
            chargeback_status = UNSET
        elif isinstance(self.chargeback_status, InternalPurchaseChargebackStatusType1):
            chargeback_status = self.chargeback_status.value
        elif isinstance(self.chargeback_status, InternalPurchaseChargebackStatusType2Type1):
            chargeback_status = self.chargeback_status.value
        elif isinstance(self.chargeback_status, InternalPurchaseChargebackStatusType3Type1):
            chargeback_status = self.chargeback_status.value
        else:
            chargeback_status = self.chargeback_status

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
        if amount_minor is not UNSET:
            field_dict["amount_minor"] = amount_minor
        if currency is not UNSET:
            field_dict["currency"] = currency
        if status is not UNSET:
            field_dict["status"] = status
        if chargeback_id is not UNSET:
            field_dict["chargeback_id"] = chargeback_id
        if chargeback_coins is not UNSET:
            field_dict["chargeback_coins"] = chargeback_coins
        if chargeback_status is not UNSET:
            field_dict["chargeback_status"] = chargeback_status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        purchase_id = d.pop("purchase_id", UNSET)

        user_id = d.pop("user_id", UNSET)

        country = d.pop("country", UNSET)

        package_id = d.pop("package_id", UNSET)

        coins = d.pop("coins", UNSET)

        amount_minor = d.pop("amount_minor", UNSET)

        currency = d.pop("currency", UNSET)

        status = d.pop("status", UNSET)

        def _parse_chargeback_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        chargeback_id = _parse_chargeback_id(d.pop("chargeback_id", UNSET))

        def _parse_chargeback_coins(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        chargeback_coins = _parse_chargeback_coins(d.pop("chargeback_coins", UNSET))

        def _parse_chargeback_status(
            data: object,
        ) -> (
            InternalPurchaseChargebackStatusType1
            | InternalPurchaseChargebackStatusType2Type1
            | InternalPurchaseChargebackStatusType3Type1
            | None
            | Unset
        ):
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                chargeback_status_type_1 = InternalPurchaseChargebackStatusType1(data)

                return chargeback_status_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                chargeback_status_type_2_type_1 = InternalPurchaseChargebackStatusType2Type1(data)

                return chargeback_status_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                chargeback_status_type_3_type_1 = InternalPurchaseChargebackStatusType3Type1(data)

                return chargeback_status_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                InternalPurchaseChargebackStatusType1
                | InternalPurchaseChargebackStatusType2Type1
                | InternalPurchaseChargebackStatusType3Type1
                | None
                | Unset,
                data,
            )

        chargeback_status = _parse_chargeback_status(d.pop("chargeback_status", UNSET))

        internal_purchase = cls(
            purchase_id=purchase_id,
            user_id=user_id,
            country=country,
            package_id=package_id,
            coins=coins,
            amount_minor=amount_minor,
            currency=currency,
            status=status,
            chargeback_id=chargeback_id,
            chargeback_coins=chargeback_coins,
            chargeback_status=chargeback_status,
        )

        return internal_purchase
