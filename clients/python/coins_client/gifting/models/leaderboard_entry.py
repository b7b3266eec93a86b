from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LeaderboardEntry")


@_attrs_define
class LeaderboardEntry:
    """
    Attributes:
        rank (int | Unset):  Example: 1.
        sender_id (str | Unset):  Example: ann.
        coins (int | Unset):  Example: 120.
        gifts (int | Unset):  Example: 7.
    """

    rank: int | Unset = UNSET
    sender_id: str | Unset = UNSET
    coins: int | Unset = UNSET
    gifts: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        rank = self.rank

        sender_id = self.sender_id

        coins = self.coins

        gifts = self.gifts

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if rank is not UNSET:
            field_dict["rank"] = rank
        if sender_id is not UNSET:
            field_dict["sender_id"] = sender_id
        if coins is not UNSET:
            field_dict["coins"] = coins
        if gifts is not UNSET:
            field_dict["gifts"] = gifts

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        rank = d.pop("rank", UNSET)

        sender_id = d.pop("sender_id", UNSET)

        coins = d.pop("coins", UNSET)

        gifts = d.pop("gifts", UNSET)

        leaderboard_entry = cls(
            rank=rank,
            sender_id=sender_id,
            coins=coins,
            gifts=gifts,
        )

        return leaderboard_entry
