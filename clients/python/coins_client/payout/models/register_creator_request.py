from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.payout_method import PayoutMethod


T = TypeVar("T", bound="RegisterCreatorRequest")


@_attrs_define
class RegisterCreatorRequest:
    """
    Attributes:
        creator_id (str):  Example: cat.
        country (str):  Example: US.
        birth_date (datetime.date):  Example: 1995-07-15.
        payout_method (PayoutMethod):
    """

    creator_id: str
    country: str
    birth_date: datetime.date
    payout_method: PayoutMethod

    def to_dict(self) -> dict[str, Any]:
        creator_id = self.creator_id

        country = self.country

        birth_date = self.birth_date.isoformat()

        payout_method = self.payout_method.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "creator_id": creator_id,
                "country": country,
                "birth_date": birth_date,
                "payout_method": payout_method,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payout_method import PayoutMethod  # noqa: PLC0415

        d = dict(src_dict)
        creator_id = d.pop("creator_id")

        country = d.pop("country")

        birth_date = datetime.date.fromisoformat(d.pop("birth_date"))

        payout_method = PayoutMethod.from_dict(d.pop("payout_method"))

        register_creator_request = cls(
            creator_id=creator_id,
            country=country,
            birth_date=birth_date,
            payout_method=payout_method,
        )

        return register_creator_request
