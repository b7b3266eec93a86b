"""The generated client (clients/python, `make client`) against the services as its users call them:
a purchase and a gift with an Idempotency-Key, the retry answered with the first answer, and a
refusal parsed as a Problem. Over httpx into each app (its WSGI transport), on PostgreSQL."""

from __future__ import annotations

import datetime
import uuid

import httpx
import pytest
from coins_client import gifting, purchase
from coins_client.gifting.api.gifts import send_gift, send_gift_batch
from coins_client.gifting.api.wallets import wallet
from coins_client.gifting.models import (
    GiftBatchItem,
    GiftBatchItemGiftId,
    GiftBatchRequest,
    GiftBatchResultOutcome,
    GiftTransaction,
    SendGiftRequest,
    SendGiftRequestGiftId,
)
from coins_client.gifting.models import Problem as GiftingProblem
from coins_client.purchase.api.purchases import buy
from coins_client.purchase.api.purchases import purchase as get_purchase
from coins_client.purchase.models import Payment, PaymentMethod, PurchaseRequest, PurchaseStatus

from services.gifting.domain.commands import CreditPurchase
from services.gifting.service_layer import handlers
from shared.messaging.uow import run

pytestmark = pytest.mark.integration


def client_for(package, test_client, token: str):
    transport = httpx.WSGITransport(app=test_client.application)
    return package.AuthenticatedClient(
        base_url="http://coins.test", token=token, raise_on_unexpected_status=True, httpx_args={"transport": transport}
    )


def test_a_purchase_through_the_client_is_made_once_for_one_key(make_service, caller_keys):
    _, app = make_service("purchase")
    order = PurchaseRequest(
        user_id="viewer-1",
        country="US",
        birth_date=datetime.date(1990, 5, 1),
        package_id="coins_700",
        payment=Payment(method=PaymentMethod.CARD, token="tok_visa"),
    )
    key = str(uuid.uuid4())
    with client_for(purchase, app, caller_keys.token("gateway", "purchase")) as client:
        first = buy.sync_detailed(client=client, body=order, idempotency_key=key)
        again = buy.sync_detailed(client=client, body=order, idempotency_key=key)
        made = first.parsed
        assert first.status_code == 201 and made.status is PurchaseStatus.COMPLETED and made.coins == 700
        assert first.headers["Location"] == f"/v1/purchases/{made.purchase_id}"
        assert first.headers["traceparent"].startswith("00-") and "Idempotent-Replayed" not in first.headers
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.parsed.purchase_id == made.purchase_id
        assert again.headers["Location"] == first.headers["Location"]
        assert get_purchase.sync(made.purchase_id, client=client).coins == 700


def test_a_gift_through_the_client_spends_once_for_one_key_and_a_refusal_is_a_problem(make_service, caller_keys):
    svc, app = make_service("gifting")
    run(
        handlers.credit_purchase,
        CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="viewer", coins=10),
        uow=svc.uow(),
    )
    rose = SendGiftRequest(sender_id="viewer", creator_id="creator", gift_id=SendGiftRequestGiftId.ROSE, quantity=3)
    key = str(uuid.uuid4())
    with client_for(gifting, app, caller_keys.token("gateway", "gifting")) as client:
        first = send_gift.sync_detailed(client=client, body=rose, idempotency_key=key)
        again = send_gift.sync_detailed(client=client, body=rose, idempotency_key=key)
        assert first.status_code == 201 and isinstance(first.parsed, GiftTransaction)
        assert first.parsed.coins == 3 and first.parsed.balance_after == 7
        assert again.headers["Idempotent-Replayed"] == "true" and again.parsed.gift_tx_id == first.parsed.gift_tx_id
        assert wallet.sync("viewer", client=client).balance == 7  # spent once

        too_dear = SendGiftRequest(
            sender_id="viewer", creator_id="creator", gift_id=SendGiftRequestGiftId.ROSE, quantity=8
        )
        refused = send_gift.sync_detailed(client=client, body=too_dear, idempotency_key=str(uuid.uuid4()))
        assert refused.status_code == 409 and isinstance(refused.parsed, GiftingProblem)
        assert refused.parsed.type_.endswith("/insufficient-coins") and refused.parsed.status == 409
        assert wallet.sync("viewer", client=client).balance == 7


def test_a_batch_of_gifts_through_the_client_lists_each_outcome_in_order(make_service, caller_keys):
    svc, app = make_service("gifting")
    run(
        handlers.credit_purchase,
        CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="viewer", coins=10),
        uow=svc.uow(),
    )
    items = [
        GiftBatchItem(
            sender_id="viewer",
            creator_id="creator",
            gift_id=GiftBatchItemGiftId.ROSE,
            quantity=quantity,
            idempotency_key=str(uuid.uuid4()),
        )
        for quantity in (6, 6, 3)
    ]
    with client_for(gifting, app, caller_keys.token("gateway", "gifting")) as client:
        answer = send_gift_batch.sync(client=client, body=GiftBatchRequest(gifts=items))
        again = send_gift_batch.sync(client=client, body=GiftBatchRequest(gifts=items))
    assert [r.outcome for r in answer.results] == [
        GiftBatchResultOutcome.CREATED,
        GiftBatchResultOutcome.INSUFFICIENT_COINS,
        GiftBatchResultOutcome.CREATED,
    ]
    assert answer.results[1].status == 409 and answer.results[1].problem.type_.endswith("/insufficient-coins")
    assert answer.results[2].gift.balance_after == 1
    assert [r.outcome for r in again.results][0] is GiftBatchResultOutcome.REPLAYED
    assert again.results[0].gift.gift_tx_id == answer.results[0].gift.gift_tx_id
