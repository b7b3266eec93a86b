from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Earnings")


@_attrs_define
class Earnings:
    """
    Attributes:
        creator_id (str | Unset):  Example: cat.
        total (int | Unset): Diamonds ever credited Example: 12000.
        pending (int | Unset): Diamonds on hold Example: 2000.
        available (int | Unset): Diamonds that can be withdrawn Example: 8000.
        withdrawn (int | Unset): Diamonds paid out or in flight Example: 2000.
        in_flight (int | Unset):  Example: 0.
        paid_out (int | Unset):  Example: 2000.
        available_value_minor (int | Unset): Cash value of `available`, in cents Example: 4000.
        currency (Any | Unset):  Default: 'USD'. Example: USD.
    """

    creator_id: str | Unset = UNSET
    total: int | Unset = UNSET
    pending: int | Unset = UNSET
    available: int | Unset = UNSET
    withdrawn: int | Unset = UNSET
    in_flight: int | Unset = UNSET
    paid_out: int | Unset = UNSET
    available_value_minor: int | Unset = UNSET
    currency: Any | Unset = "USD"

    def to_dict(self) -> dict[str, Any]:
        creator_id = self.creator_id

        total = self.total

        pending = self.pending

        available = self.available

        withdrawn = self.withdrawn

        in_flight = self.in_flight

        paid_out = self.paid_out

        available_value_minor = self.available_value_minor

        currency = self.currency

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if total is not UNSET:
            field_dict["total"] = total
        if pending is not UNSET:
            field_dict["pending"] = pending
        if available is not UNSET:
            field_dict["available"] = available
        if withdrawn is not UNSET:
            field_dict["withdrawn"] = withdrawn
        if in_flight is not UNSET:
            field_dict["in_flight"] = in_flight
        if paid_out is not UNSET:
            field_dict["paid_out"] = paid_out
        if available_value_minor is not UNSET:
            field_dict["available_value_minor"] = available_value_minor
        if currency is not UNSET:
            field_dict["currency"] = currency

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        creator_id = d.pop("creator_id", UNSET)

        total = d.pop("total", UNSET)

        pending = d.pop("pending", UNSET)

        available = d.pop("available", UNSET)

        withdrawn = d.pop("withdrawn", UNSET)

        in_flight = d.pop("in_flight", UNSET)

        paid_out = d.pop("paid_out", UNSET)

        available_value_minor = d.pop("available_value_minor", UNSET)

        currency = d.pop("currency", UNSET)

        earnings = cls(
            creator_id=creator_id,
            total=total,
            pending=pending,
            available=available,
            withdrawn=withdrawn,
            in_flight=in_flight,
            paid_out=paid_out,
            available_value_minor=available_value_minor,
            currency=currency,
        )

        return earnings
