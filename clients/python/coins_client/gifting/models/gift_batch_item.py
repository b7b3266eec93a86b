from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.gift_batch_item_gift_id import GiftBatchItemGiftId
from ..types import UNSET, Unset

T = TypeVar("T", bound="GiftBatchItem")


@_attrs_define
class GiftBatchItem:
    """
    Attributes:
        sender_id (str):  Example: ann.
        creator_id (str):  Example: cat.
        gift_id (GiftBatchItemGiftId):  Example: rose.
        idempotency_key (str): As the Idempotency-Key header of POST /v1/gifts Example: tap-7f3a9c.
        quantity (int | Unset): A combo Default: 1. Example: 5.
        stream_id (None | str | Unset):  Example: stream-42.
        grant (None | str | Unset): The sender's user grant, as the X-User-Grant header of POST /v1/gifts
    """

    sender_id: str
    creator_id: str
    gift_id: GiftBatchItemGiftId
    idempotency_key: str
    quantity: int | Unset = 1
    stream_id: None | str | Unset = UNSET
    grant: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        sender_id = self.sender_id

        creator_id = self.creator_id

        gift_id = self.gift_id.value

        idempotency_key = self.idempotency_key

        quantity = self.quantity

        stream_id: None | str | Unset
        if isinstance(self.stream_id, Unset):
            stream_id = UNSET
        else:
            stream_id = self.stream_id

        grant: None | str | Unset
        if isinstance(self.grant, Unset):
            grant = UNSET
        else:
            grant = self.grant

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "sender_id": sender_id,
                "creator_id": creator_id,
                "gift_id": gift_id,
                "idempotency_key": idempotency_key,
            }
        )
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if stream_id is not UNSET:
            field_dict["stream_id"] = stream_id
        if grant is not UNSET:
            field_dict["grant"] = grant

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sender_id = d.pop("sender_id")

        creator_id = d.pop("creator_id")

        gift_id = GiftBatchItemGiftId(d.pop("gift_id"))

        idempotency_key = d.pop("idempotency_key")

        quantity = d.pop("quantity", UNSET)

        def _parse_stream_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        stream_id = _parse_stream_id(d.pop("stream_id", UNSET))

        def _parse_grant(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        grant = _parse_grant(d.pop("grant", UNSET))

        gift_batch_item = cls(
            sender_id=sender_id,
            creator_id=creator_id,
            gift_id=gift_id,
            idempotency_key=idempotency_key,
            quantity=quantity,
            stream_id=stream_id,
            grant=grant,
        )

        return gift_batch_item
