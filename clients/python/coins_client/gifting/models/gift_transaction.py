from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="GiftTransaction")


@_attrs_define
class GiftTransaction:
    """
    Attributes:
        gift_tx_id (str | Unset):  Example: 01938a71-0c1d-7e2f-9a3b-4c5d6e7f8a9b.
        sender_id (str | Unset):  Example: ann.
        creator_id (str | Unset):  Example: cat.
        gift_id (str | Unset):  Example: rose.
        quantity (int | Unset):  Example: 5.
        coins_each (int | Unset):  Example: 1.
        coins (int | Unset):  Example: 5.
        diamonds (int | Unset):  Example: 5.
        stream_id (None | str | Unset):  Example: stream-42.
        sent_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
        balance_after (int | Unset):  Example: 65.
    """

    gift_tx_id: str | Unset = UNSET
    sender_id: str | Unset = UNSET
    creator_id: str | Unset = UNSET
    gift_id: str | Unset = UNSET
    quantity: int | Unset = UNSET
    coins_each: int | Unset = UNSET
    coins: int | Unset = UNSET
    diamonds: int | Unset = UNSET
    stream_id: None | str | Unset = UNSET
    sent_at: datetime.datetime | Unset = UNSET
    balance_after: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        gift_tx_id = self.gift_tx_id

        sender_id = self.sender_id

        creator_id = self.creator_id

        gift_id = self.gift_id

        quantity = self.quantity

        coins_each = self.coins_each

        coins = self.coins

        diamonds = self.diamonds

        stream_id: None | str | Unset
        if isinstance(self.stream_id, Unset):
            stream_id = UNSET
        else:
            stream_id = self.stream_id

        sent_at: str | Unset = UNSET
        if not isinstance(self.sent_at, Unset):
            sent_at = self.sent_at.isoformat()

        balance_after = self.balance_after

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if gift_tx_id is not UNSET:
            field_dict["gift_tx_id"] = gift_tx_id
        if sender_id is not UNSET:
            field_dict["sender_id"] = sender_id
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if gift_id is not UNSET:
            field_dict["gift_id"] = gift_id
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if coins_each is not UNSET:
            field_dict["coins_each"] = coins_each
        if coins is not UNSET:
            field_dict["coins"] = coins
        if diamonds is not UNSET:
            field_dict["diamonds"] = diamonds
        if stream_id is not UNSET:
            field_dict["stream_id"] = stream_id
        if sent_at is not UNSET:
            field_dict["sent_at"] = sent_at
        if balance_after is not UNSET:
            field_dict["balance_after"] = balance_after

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        gift_tx_id = d.pop("gift_tx_id", UNSET)

        sender_id = d.pop("sender_id", UNSET)

        creator_id = d.pop("creator_id", UNSET)

        gift_id = d.pop("gift_id", UNSET)

        quantity = d.pop("quantity", UNSET)

        coins_each = d.pop("coins_each", UNSET)

        coins = d.pop("coins", UNSET)

        diamonds = d.pop("diamonds", UNSET)

        def _parse_stream_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        stream_id = _parse_stream_id(d.pop("stream_id", UNSET))

        _sent_at = d.pop("sent_at", UNSET)
        sent_at: datetime.datetime | Unset
        if isinstance(_sent_at, Unset):
            sent_at = UNSET
        else:
            sent_at = datetime.datetime.fromisoformat(_sent_at)

        balance_after = d.pop("balance_after", UNSET)

        gift_transaction = cls(
            gift_tx_id=gift_tx_id,
            sender_id=sender_id,
            creator_id=creator_id,
            gift_id=gift_id,
            quantity=quantity,
            coins_each=coins_each,
            coins=coins,
            diamonds=diamonds,
            stream_id=stream_id,
            sent_at=sent_at,
            balance_after=balance_after,
        )

        return gift_transaction
