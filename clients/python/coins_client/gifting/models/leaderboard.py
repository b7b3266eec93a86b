from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.leaderboard_entry import LeaderboardEntry


T = TypeVar("T", bound="Leaderboard")


@_attrs_define
class Leaderboard:
    """
    Attributes:
        stream_id (str | Unset):  Example: stream-42.
        leaderboard (list[LeaderboardEntry] | Unset):
    """

    stream_id: str | Unset = UNSET
    leaderboard: list[LeaderboardEntry] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        stream_id = self.stream_id

        leaderboard: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.leaderboard, Unset):
            leaderboard = []
            for leaderboard_item_data in self.leaderboard:
                leaderboard_item = leaderboard_item_data.to_dict()
                leaderboard.append(leaderboard_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if stream_id is not UNSET:
            field_dict["stream_id"] = stream_id
        if leaderboard is not UNSET:
            field_dict["leaderboard"] = leaderboard

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.leaderboard_entry import LeaderboardEntry  # noqa: PLC0415

        d = dict(src_dict)
        stream_id = d.pop("stream_id", UNSET)

        _leaderboard = d.pop("leaderboard", UNSET)
        leaderboard: list[LeaderboardEntry] | Unset = UNSET
        if _leaderboard is not UNSET:
            leaderboard = []
            for leaderboard_item_data in _leaderboard:
                leaderboard_item = LeaderboardEntry.from_dict(leaderboard_item_data)

                leaderboard.append(leaderboard_item)

        leaderboard = cls(
            stream_id=stream_id,
            leaderboard=leaderboard,
        )

        return leaderboard
