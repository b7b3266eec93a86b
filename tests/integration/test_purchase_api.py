"""Buying coins through the purchase API on PostgreSQL: prices, rules, idempotency, chargebacks, bad input."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import outbox_events, purchases_age, rows
from tests.support.processors import FakeCardProcessor

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    """Tokens meant for purchase (their `aud`)."""
    return auth_for("purchase")


def order(**overrides) -> dict:
    body = {
        "user_id": "viewer-1",
        "country": "US",
        "birth_date": "1990-05-01",
        "package_id": "coins_700",
        "payment": {"method": "card", "token": "tok_visa"},
    }
    body.update(overrides)
    return body


def custom_order(coins: int) -> dict:
    body = order(coins=coins)
    del body["package_id"]
    return body


def key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def purchase(make_service):
    return make_service("purchase")


def test_a_viewer_buys_700_coins_and_the_wallet_event_is_in_the_outbox(purchase, auth):
    svc, client = purchase
    response = client.post("/v1/purchases", json=order(), headers=auth(**key()))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["coins"], body["status"], body["price"]) == (
        700,
        "completed",
        {"amount_minor": 999, "currency": "USD"},
    )
    [event] = outbox_events(svc)
    assert event["type"] == "purchase.completed" and event["data"]["coins"] == 700
    assert event["data"]["user_id"] == "viewer-1"
    assert client.get(f"/v1/purchases/{body['purchase_id']}", headers=auth()).get_json()["status"] == "completed"
    listing = client.get("/v1/users/viewer-1/purchases", headers=auth()).get_json()
    assert [p["purchase_id"] for p in listing["purchases"]] == [body["purchase_id"]]


def test_prices_per_country_with_jpy_in_whole_yen(purchase, auth):
    _, client = purchase
    jp = client.get("/v1/packages?country=JP", headers=auth()).get_json()
    assert jp["currency"] == "JPY" and jp["packages"][0]["price"] == {"amount_minor": 160, "currency": "JPY"}
    assert client.get("/v1/packages?country=GB", headers=auth()).get_json()["currency"] == "GBP"
    assert client.get("/v1/packages", headers=auth()).status_code == 422


def test_a_declined_card_is_402_and_moves_no_coins(purchase, auth):
    svc, client = purchase
    response = client.post(
        "/v1/purchases", json=order(payment={"method": "card", "token": "tok_declined"}), headers=auth(**key())
    )
    assert response.status_code == 402 and "payment" in response.get_json()["errors"]
    assert response.content_type == "application/problem+json"
    assert outbox_events(svc) == []


@pytest.mark.parametrize(
    "overrides,status,field",
    [
        ({"country": "KP"}, 403, "country"),
        ({"birth_date": "2015-01-01"}, 403, "birth_date"),
        ({"country": "KR", "birth_date": "2008-01-01"}, 403, "birth_date"),
        ({"package_id": "coins_71"}, 422, "package_id"),
        ({"coins": 29, "package_id": None}, 422, "coins"),
        ({"coins": 70.0, "package_id": None}, 422, "coins"),
        ({"coins": "70", "package_id": None}, 422, "coins"),
        ({"coins": True, "package_id": None}, 422, "coins"),
        ({"coins": 100}, 422, "coins"),
        ({"birth_date": "yesterday"}, 422, "birth_date"),
        ({"user_id": ""}, 422, "user_id"),
        ({"user_id": "a\u0000b"}, 422, "user_id"),
        ({"payment": {"method": "cash", "token": "tok_visa"}}, 422, "payment.method"),
        ({"payment": {"method": "card"}}, 422, "payment.token"),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_orders_are_refused_naming_the_field_and_write_nothing(purchase, auth, overrides, status, field):
    svc, client = purchase
    body = {k: v for k, v in order(**overrides).items() if v is not None}
    response = client.post("/v1/purchases", json=body, headers=auth(**key()))
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert rows(svc, "purchases") == 0 and rows(svc, "outbox") == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"null", b'{"a": ' * 5000])
def test_malformed_bodies_are_400(purchase, auth, raw):
    _, client = purchase
    response = client.post("/v1/purchases", data=raw, headers=auth(**key(), **{"Content-Type": "application/json"}))
    assert response.status_code == 400
    assert "body" in response.get_json()["errors"]


def test_an_oversized_body_is_413(purchase, auth):
    _, client = purchase
    response = client.post("/v1/purchases", data=b"x" * (1024 * 1024 + 1), headers=auth(**key()))
    assert response.status_code == 413 and response.content_type == "application/problem+json"


def test_idempotency_replays_refuses_a_changed_body_and_needs_a_key(purchase, auth):
    svc, client = purchase
    headers = auth(**key())
    first = client.post("/v1/purchases", json=order(), headers=headers)
    again = client.post("/v1/purchases", json=order(), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    changed = client.post("/v1/purchases", json=order(package_id="coins_70"), headers=headers)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.get_json()["errors"]
    missing = client.post("/v1/purchases", json=order(), headers=auth())
    assert missing.status_code == 400 and "Idempotency-Key" in missing.get_json()["errors"]
    assert rows(svc, "purchases") == 1 and len(outbox_events(svc)) == 1


class BlockingProcessor(FakeCardProcessor):
    """Holds a charge until released, so a second request can arrive while the first is in flight."""

    def __init__(self):
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def charge(self, **kwargs):
        self.entered.set()
        assert self.release.wait(10)
        return super().charge(**kwargs)


def test_the_same_key_while_the_first_is_in_flight_is_409(make_service, auth):
    processor = BlockingProcessor()
    svc, client = make_service("purchase", processor=processor)
    headers = auth(**key())
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/v1/purchases", json=order(), headers=headers)
        assert processor.entered.wait(10)
        second = client.post("/v1/purchases", json=order(), headers=headers)
        processor.release.set()
        assert first.result().status_code == 201
    assert second.status_code == 409
    assert rows(svc, "purchases") == 1


def test_the_24_hour_cap_holds_when_purchases_race(make_service, auth):
    svc, client = make_service("purchase", PURCHASE_DAILY_CAP_COINS="10000")
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: client.post("/v1/purchases", json=custom_order(3000), headers=auth(**key())), range(8))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [422] * 5
    assert sum(e["data"]["coins"] for e in outbox_events(svc)) == 9000


def test_coins_are_non_refundable(purchase, auth):
    _, client = purchase
    purchase_id = client.post("/v1/purchases", json=order(), headers=auth(**key())).get_json()["purchase_id"]
    refused = client.post(f"/v1/purchases/{purchase_id}/refund", headers=auth())
    assert refused.status_code == 422 and "non-refundable" in refused.get_json()["type"]
    assert client.post(f"/v1/purchases/{uuid.uuid4()}/refund", headers=auth()).status_code == 404


def test_the_24_hour_cap_names_the_field_the_request_sent(purchase, auth):
    svc, client = purchase
    assert client.post("/v1/purchases", json=custom_order(2_500_000), headers=auth(**key())).status_code == 201
    by_package = client.post("/v1/purchases", json=order(), headers=auth(**key()))
    assert by_package.status_code == 422 and list(by_package.get_json()["errors"]) == ["package_id"]
    by_amount = client.post("/v1/purchases", json=custom_order(100), headers=auth(**key()))
    assert by_amount.status_code == 422 and list(by_amount.get_json()["errors"]) == ["coins"]


def test_only_the_processor_reports_chargebacks_and_only_once(purchase, auth):
    svc, client = purchase
    purchase_id = client.post("/v1/purchases", json=order(), headers=auth(**key())).get_json()["purchase_id"]
    body = {"purchase_id": purchase_id, "reason": "fraudulent"}
    assert client.post("/v1/chargebacks", json=body, headers=auth("gateway", **key())).status_code == 403
    reversed_ = client.post("/v1/chargebacks", json=body, headers=auth("processor", **key()))
    assert reversed_.status_code == 202 and (reversed_.get_json()["coins"], reversed_.get_json()["status"]) == (
        700,
        "reversed",
    )
    assert client.post("/v1/chargebacks", json=body, headers=auth("processor", **key())).status_code == 409
    unknown = {"purchase_id": str(uuid.uuid4()), "reason": "x"}
    not_found = client.post("/v1/chargebacks", json=unknown, headers=auth("processor", **key()))
    assert not_found.status_code == 404 and "purchase_id" in not_found.get_json()["errors"]
    assert [e["type"] for e in outbox_events(svc)] == ["purchase.completed", "purchase.reversed"]
    assert client.get(f"/v1/purchases/{purchase_id}", headers=auth()).get_json()["status"] == "reversed"


def test_calls_without_a_valid_token_are_401_and_open_endpoints_are_open(purchase, auth):
    _, client = purchase
    assert client.get("/v1/packages?country=US").status_code == 401
    assert client.get("/v1/packages?country=US", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.get("/v1/packages?country=US", headers=auth("stranger")).status_code == 403
    assert client.get("/health/live").status_code == 200
    assert client.get("/metrics").status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert "/v1/purchases" in spec["paths"] and spec["openapi"].startswith("3.")


def test_a_users_purchases_page_newest_first(purchase, auth):
    _, client = purchase
    bought = [
        client.post("/v1/purchases", json=order(package_id=p), headers=auth(**key())).get_json()["purchase_id"]
        for p in ("coins_70", "coins_350", "coins_700")
    ]
    first = client.get("/v1/users/viewer-1/purchases?limit=2", headers=auth()).get_json()
    assert [p["purchase_id"] for p in first["purchases"]] == bought[:0:-1]
    rest = client.get(f"/v1/users/viewer-1/purchases?limit=2&cursor={first['next_cursor']}", headers=auth()).get_json()
    assert [p["purchase_id"] for p in rest["purchases"]] == bought[:1] and rest["next_cursor"] is None
    assert client.get("/v1/users/viewer-1/purchases?cursor=not-ours", headers=auth()).status_code == 422


def test_a_key_reused_after_a_5xx_with_another_body_is_422_and_charges_nothing(make_service, auth):
    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    headers = auth(**{"Idempotency-Key": "K1"})
    ann = order(user_id="ann", package_id="coins_70", payment={"method": "card", "token": "tok_raise"})
    assert client.post("/v1/purchases", json=ann, headers=headers).status_code == 500
    bob = order(user_id="bob", package_id="coins_17500", payment={"method": "card", "token": "tok_mastercard"})
    reused = client.post("/v1/purchases", json=bob, headers=headers)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.get_json()["errors"]
    assert processor.charges == {} and sum(processor.calls.values()) == 1  # only ann's failed attempt
    assert outbox_events(svc) == []


def test_a_charge_of_unknown_outcome_is_503_and_the_same_request_resumes_the_same_purchase(make_service, auth):
    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    headers = auth(**{"Idempotency-Key": "K2"})
    unknown = order(payment={"method": "card", "token": "tok_error"})
    first = client.post("/v1/purchases", json=unknown, headers=headers)
    assert first.status_code == 503 and first.content_type == "application/problem+json"
    again = client.post("/v1/purchases", json=unknown, headers=headers)
    assert again.status_code == 503
    [payment_id] = processor.calls
    assert processor.calls[payment_id] == 2 and rows(svc, "purchases") == 1  # one purchase, asked twice
    assert client.post("/v1/purchases", json=order(), headers=headers).status_code == 422


def test_the_reconciler_completes_a_purchase_whose_charge_was_taken_but_never_answered(make_service, auth):
    from datetime import timedelta

    from services.purchase.service_layer.reconcile import reconcile_purchases

    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    taken = client.post(
        "/v1/purchases", json=order(payment={"method": "card", "token": "tok_timeout"}), headers=auth(**key())
    )
    assert taken.status_code == 503 and len(processor.charges) == 1  # the card is charged, the buyer told nothing
    [payment_id] = processor.charges
    assert reconcile_purchases(uow=svc.uow(), processor=processor, schedule=svc.settings.schedule) == 0  # not due
    purchases_age(svc, timedelta(hours=1))
    assert reconcile_purchases(uow=svc.uow(), processor=processor, schedule=svc.settings.schedule) == 1
    assert reconcile_purchases(uow=svc.uow(), processor=processor, schedule=svc.settings.schedule) == 0
    purchase = client.get(f"/v1/purchases/{payment_id}", headers=auth()).get_json()
    assert purchase["status"] == "completed"
    assert [e["data"]["purchase_id"] for e in outbox_events(svc)] == [payment_id]  # coins credited once


def test_the_reconciler_declines_a_purchase_the_processor_never_charged(make_service, auth):
    from datetime import timedelta

    from services.purchase.service_layer.reconcile import reconcile_purchases

    processor = FakeCardProcessor()
    svc, client = make_service("purchase", processor=processor)
    client.post("/v1/purchases", json=order(payment={"method": "card", "token": "tok_error"}), headers=auth(**key()))
    purchases_age(svc, timedelta(hours=1))
    assert reconcile_purchases(uow=svc.uow(), processor=processor, schedule=svc.settings.schedule) == 1
    [purchase] = client.get("/v1/users/viewer-1/purchases", headers=auth()).get_json()["purchases"]
    assert purchase["status"] == "declined" and outbox_events(svc) == []


def test_an_attempt_that_lost_its_key_to_a_takeover_can_neither_make_nor_answer(make_service):
    from datetime import timedelta

    import sqlalchemy as sa

    from shared.clock import utcnow
    from shared.idempotency import Answer, ClaimLost, KeyedRequest
    from shared.idempotency.store import KeyStore

    svc, _ = make_service("purchase")
    table = svc.tables["idempotency_keys"]
    store, request = KeyStore(table, 60), KeyedRequest("gateway", "k", "hash")
    with svc.engine.begin() as conn:
        slow = store.claim(conn, request)
        conn.execute(table.update().values(lease_until=utcnow() - timedelta(seconds=1)))  # its lease ran out
    with svc.engine.begin() as conn:
        retry = store.claim(conn, request)
        store.attach(conn, caller="gateway", key="k", owner=retry.owner, resource_id="purchase-of-the-retry")
    with svc.engine.begin() as conn, pytest.raises(ClaimLost):
        store.attach(conn, caller="gateway", key="k", owner=slow.owner, resource_id="a-second-purchase")
    with svc.engine.begin() as conn:
        assert store.finish(conn, slow, Answer(500, "late")) is False
        assert store.finish(conn, retry, Answer(201, "{}")) is True
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(table)).one()
    assert (row.owner, row.resource_id, row.response_body) == (retry.owner, "purchase-of-the-retry", "{}")
