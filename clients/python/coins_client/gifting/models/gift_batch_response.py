from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gift_batch_result import GiftBatchResult


T = TypeVar("T", bound="GiftBatchResponse")


@_attrs_define
class GiftBatchResponse:
    """
    Attributes:
        results (list[GiftBatchResult] | Unset): In request order
    """

    results: list[GiftBatchResult] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        results: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.results, Unset):
            results = []
            for results_item_data in self.results:
                results_item = results_item_data.to_dict()
                results.append(results_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if results is not UNSET:
            field_dict["results"] = results

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gift_batch_result import GiftBatchResult  # noqa: PLC0415

        d = dict(src_dict)
        _results = d.pop("results", UNSET)
        results: list[GiftBatchResult] | Unset = UNSET
        if _results is not UNSET:
            results = []
            for results_item_data in _results:
                results_item = GiftBatchResult.from_dict(results_item_data)

                results.append(results_item)

        gift_batch_response = cls(
            results=results,
        )

        return gift_batch_response
