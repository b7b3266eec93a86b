from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.gift_batch_result_outcome import GiftBatchResultOutcome
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gift_transaction import GiftTransaction
    from ..models.item_problem import ItemProblem


T = TypeVar("T", bound="GiftBatchResult")


@_attrs_define
class GiftBatchResult:
    """
    Attributes:
        index (int | Unset):  Example: 0.
        idempotency_key (None | str | Unset):  Example: tap-7f3a9c.
        status (int | Unset): The status the gift would have got alone Example: 201.
        outcome (GiftBatchResultOutcome | Unset):  Example: created.
        gift (GiftTransaction | Unset):
        problem (ItemProblem | Unset):
    """

    index: int | Unset = UNSET
    idempotency_key: None | str | Unset = UNSET
    status: int | Unset = UNSET
    outcome: GiftBatchResultOutcome | Unset = UNSET
    gift: GiftTransaction | Unset = UNSET
    problem: ItemProblem | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        idempotency_key: None | str | Unset
        if isinstance(self.idempotency_key, Unset):
            idempotency_key = UNSET
        else:
            idempotency_key = self.idempotency_key

        status = self.status

        outcome: str | Unset = UNSET
        if not isinstance(self.outcome, Unset):
            outcome = self.outcome.value

        gift: dict[str, Any] | Unset = UNSET
        if not isinstance(self.gift, Unset):
            gift = self.gift.to_dict()

        problem: dict[str, Any] | Unset = UNSET
        if not isinstance(self.problem, Unset):
            problem = self.problem.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if index is not UNSET:
            field_dict["index"] = index
        if idempotency_key is not UNSET:
            field_dict["idempotency_key"] = idempotency_key
        if status is not UNSET:
            field_dict["status"] = status
        if outcome is not UNSET:
            field_dict["outcome"] = outcome
        if gift is not UNSET:
            field_dict["gift"] = gift
        if problem is not UNSET:
            field_dict["problem"] = problem

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gift_transaction import GiftTransaction  # noqa: PLC0415
        from ..models.item_problem import ItemProblem  # noqa: PLC0415

        d = dict(src_dict)
        index = d.pop("index", UNSET)

        def _parse_idempotency_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        idempotency_key = _parse_idempotency_key(d.pop("idempotency_key", UNSET))

        status = d.pop("status", UNSET)

        _outcome = d.pop("outcome", UNSET)
        outcome: GiftBatchResultOutcome | Unset
        if isinstance(_outcome, Unset):
            outcome = UNSET
        else:
            outcome = GiftBatchResultOutcome(_outcome)

        _gift = d.pop("gift", UNSET)
        gift: GiftTransaction | Unset
        if isinstance(_gift, Unset):
            gift = UNSET
        else:
            gift = GiftTransaction.from_dict(_gift)

        _problem = d.pop("problem", UNSET)
        problem: ItemProblem | Unset
        if isinstance(_problem, Unset):
            problem = UNSET
        else:
            problem = ItemProblem.from_dict(_problem)

        gift_batch_result = cls(
            index=index,
            idempotency_key=idempotency_key,
            status=status,
            outcome=outcome,
            gift=gift,
            problem=problem,
        )

        return gift_batch_result
