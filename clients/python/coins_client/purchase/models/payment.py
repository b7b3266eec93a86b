from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.payment_method import PaymentMethod

T = TypeVar("T", bound="Payment")


@_attrs_define
class Payment:
    """
    Attributes:
        method (PaymentMethod):  Example: card.
        token (str): The processor's payment token Example: tok_visa.
    """

    method: PaymentMethod
    token: str

    def to_dict(self) -> dict[str, Any]:
        method = self.method.value

        token = self.token

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "method": method,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        method = PaymentMethod(d.pop("method"))

        token = d.pop("token")

        payment = cls(
            method=method,
            token=token,
        )

        return payment
