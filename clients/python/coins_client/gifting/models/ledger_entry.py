from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.ledger_entry_kind import LedgerEntryKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="LedgerEntry")


@_attrs_define
class LedgerEntry:
    """
    Attributes:
        entry_id (int | Unset):  Example: 12.
        kind (LedgerEntryKind | Unset):  Example: gift.
        delta_coins (int | Unset):  Example: -5.
        balance_after (int | Unset):  Example: 65.
        reference (str | Unset):  Example: 01938a71-0c1d-7e2f-9a3b-4c5d6e7f8a9b.
        created_at (datetime.datetime | Unset):  Example: 2026-12-03T11:40:00.123456+00:00.
    """

    entry_id: int | Unset = UNSET
    kind: LedgerEntryKind | Unset = UNSET
    delta_coins: int | Unset = UNSET
    balance_after: int | Unset = UNSET
    reference: str | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        entry_id = self.entry_id

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value

        delta_coins = self.delta_coins

        balance_after = self.balance_after

        reference = self.reference

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if entry_id is not UNSET:
            field_dict["entry_id"] = entry_id
        if kind is not UNSET:
            field_dict["kind"] = kind
        if delta_coins is not UNSET:
            field_dict["delta_coins"] = delta_coins
        if balance_after is not UNSET:
            field_dict["balance_after"] = balance_after
        if reference is not UNSET:
            field_dict["reference"] = reference
        if created_at is not UNSET:
            field_dict["created_at"] = created_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        entry_id = d.pop("entry_id", UNSET)

        _kind = d.pop("kind", UNSET)
        kind: LedgerEntryKind | Unset
        if isinstance(_kind, Unset):
            kind = UNSET
        else:
            kind = LedgerEntryKind(_kind)

        delta_coins = d.pop("delta_coins", UNSET)

        balance_after = d.pop("balance_after", UNSET)

        reference = d.pop("reference", UNSET)

        _created_at = d.pop("created_at", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        ledger_entry = cls(
            entry_id=entry_id,
            kind=kind,
            delta_coins=delta_coins,
            balance_after=balance_after,
            reference=reference,
            created_at=created_at,
        )

        return ledger_entry
