"""`coinsctl purchases`: the purchases held for review (the processor's answer did not match the
charge asked for), listed and resolved on the purchase service's database through its handlers:
completing one writes its `purchase.completed` event to the outbox like any other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.purchase.domain.model import Chargeback, Purchase
from services.purchase.service_layer import settlement
from services.purchase.service_layer.unit_of_work import SqlAlchemyUnitOfWork
from shared.db.engines import make_engine
from shared.messaging.uow import run, transaction


@contextmanager
def _uow(database_url: str) -> Iterator[SqlAlchemyUnitOfWork]:
    engine = make_engine(database_url, pool_size=1)
    try:
        yield SqlAlchemyUnitOfWork(engine)
    finally:
        engine.dispose()


def held(database_url: str) -> list[Purchase]:
    with _uow(database_url) as uow:
        return run(settlement.held_purchases, uow=uow)


def resolve(
    database_url: str, purchase_id: str, *, complete: bool, processor, reference: str | None = None
) -> tuple[Purchase, Chargeback | None]:
    """The purchase as resolved, and its chargeback (as the verdict left it), if one was reported."""
    with _uow(database_url) as uow:
        purchase = settlement.resolve_held(
            purchase_id, complete=complete, reference=reference, uow=uow, processor=processor
        )  # its own transactions: none open while the processor is asked
        with transaction(uow):
            return purchase, uow.chargebacks.of_purchase(purchase_id)


def as_json(purchase: Purchase) -> dict:
    return {
        "purchase_id": purchase.purchase_id,
        "user_id": purchase.user_id,
        "status": purchase.status,
        "coins": purchase.coins,
        "amount_minor": purchase.amount_minor,
        "currency": purchase.currency,
        "processor_ref": purchase.processor_ref,
        "hold_reason": purchase.hold_reason,
        "created_at": purchase.created_at.isoformat(),
    }
