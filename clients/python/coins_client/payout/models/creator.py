from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.creator_payout_method import CreatorPayoutMethod


T = TypeVar("T", bound="Creator")


@_attrs_define
class Creator:
    """
    Attributes:
        creator_id (str | Unset):  Example: cat.
        country (str | Unset):  Example: US.
        payout_method (CreatorPayoutMethod | Unset):  Example: {'type': 'paypal', 'account': '***********.com'}.
        created_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        updated_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
    """

    creator_id: str | Unset = UNSET
    country: str | Unset = UNSET
    payout_method: CreatorPayoutMethod | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        creator_id = self.creator_id

        country = self.country

        payout_method: dict[str, Any] | Unset = UNSET
        if not isinstance(self.payout_method, Unset):
            payout_method = self.payout_method.to_dict()

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if country is not UNSET:
            field_dict["country"] = country
        if payout_method is not UNSET:
            field_dict["payout_method"] = payout_method
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.creator_payout_method import CreatorPayoutMethod  # noqa: PLC0415

        d = dict(src_dict)
        creator_id = d.pop("creator_id", UNSET)

        country = d.pop("country", UNSET)

        _payout_method = d.pop("payout_method", UNSET)
        payout_method: CreatorPayoutMethod | Unset
        if isinstance(_payout_method, Unset):
            payout_method = UNSET
        else:
            payout_method = CreatorPayoutMethod.from_dict(_payout_method)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _updated_at = d.pop("updated_at", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)

        creator = cls(
            creator_id=creator_id,
            country=country,
            payout_method=payout_method,
            created_at=created_at,
            updated_at=updated_at,
        )

        return creator
