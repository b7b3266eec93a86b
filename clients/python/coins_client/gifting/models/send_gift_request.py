from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.send_gift_request_gift_id import SendGiftRequestGiftId
from ..types import UNSET, Unset

T = TypeVar("T", bound="SendGiftRequest")


@_attrs_define
class SendGiftRequest:
    """
    Attributes:
        sender_id (str):  Example: ann.
        creator_id (str):  Example: cat.
        gift_id (SendGiftRequestGiftId):  Example: rose.
        quantity (int | Unset): A combo Default: 1. Example: 5.
        stream_id (None | str | Unset):  Example: stream-42.
    """

    sender_id: str
    creator_id: str
    gift_id: SendGiftRequestGiftId
    quantity: int | Unset = 1
    stream_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        sender_id = self.sender_id

        creator_id = self.creator_id

        gift_id = self.gift_id.value

        quantity = self.quantity

        stream_id: None | str | Unset
        if isinstance(self.stream_id, Unset):
            stream_id = UNSET
        else:
            stream_id = self.stream_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "sender_id": sender_id,
                "creator_id": creator_id,
                "gift_id": gift_id,
            }
        )
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if stream_id is not UNSET:
            field_dict["stream_id"] = stream_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sender_id = d.pop("sender_id")

        creator_id = d.pop("creator_id")

        gift_id = SendGiftRequestGiftId(d.pop("gift_id"))

        quantity = d.pop("quantity", UNSET)

        def _parse_stream_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        stream_id = _parse_stream_id(d.pop("stream_id", UNSET))

        send_gift_request = cls(
            sender_id=sender_id,
            creator_id=creator_id,
            gift_id=gift_id,
            quantity=quantity,
            stream_id=stream_id,
        )

        return send_gift_request
