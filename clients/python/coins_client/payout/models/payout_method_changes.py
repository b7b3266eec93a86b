from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.payout_method_change import PayoutMethodChange


T = TypeVar("T", bound="PayoutMethodChanges")


@_attrs_define
class PayoutMethodChanges:
    """
    Attributes:
        creator_id (str | Unset):
        changes (list[PayoutMethodChange] | Unset):
    """

    creator_id: str | Unset = UNSET
    changes: list[PayoutMethodChange] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        creator_id = self.creator_id

        changes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.changes, Unset):
            changes = []
            for changes_item_data in self.changes:
                changes_item = changes_item_data.to_dict()
                changes.append(changes_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if creator_id is not UNSET:
            field_dict["creator_id"] = creator_id
        if changes is not UNSET:
            field_dict["changes"] = changes

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.payout_method_change import PayoutMethodChange  # noqa: PLC0415

        d = dict(src_dict)
        creator_id = d.pop("creator_id", UNSET)

        _changes = d.pop("changes", UNSET)
        changes: list[PayoutMethodChange] | Unset = UNSET
        if _changes is not UNSET:
            changes = []
            for changes_item_data in _changes:
                changes_item = PayoutMethodChange.from_dict(changes_item_data)

                changes.append(changes_item)

        payout_method_changes = cls(
            creator_id=creator_id,
            changes=changes,
        )

        return payout_method_changes
