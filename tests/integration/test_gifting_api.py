"""Gifting on PostgreSQL and on SQLite: wallets, races for one balance, frozen wallets, ledgers, leaderboards."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase
from services.gifting.service_layer import handlers
from shared.idempotency import Answer, Claim, KeyedRequest
from shared.idempotency.store import KeyStore
from shared.messaging.uow import run
from tests.integration.conftest import outbox_events, rows
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    """Tokens meant for gifting (their `aud`)."""
    return auth_for("gifting")


@pytest.fixture(params=["postgres", "sqlite"])
def gifting(request, make_service):
    return make_service("gifting", backend=request.param)


def fund(svc, user_id: str, coins: int) -> str:
    purchase_id = str(uuid.uuid4())
    run(handlers.credit_purchase, CreditPurchase(purchase_id=purchase_id, user_id=user_id, coins=coins), uow=svc.uow())
    return purchase_id


def gift(client, auth, **body):
    payload = {"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose", **body}
    return client.post("/v1/gifts", json=payload, headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}))


def test_a_viewer_with_no_purchases_has_an_empty_active_wallet(gifting, auth):
    _, client = gifting
    assert client.get("/v1/wallets/newcomer", headers=auth()).get_json() == {
        "user_id": "newcomer",
        "balance": 0,
        "status": "active",
    }


def test_a_viewer_buys_700_coins_sends_a_combo_then_cannot_afford_a_lion(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 700)
    sent = gift(client, auth, gift_id="corgi", quantity=2, stream_id="live-1")
    assert sent.status_code == 201
    assert (sent.get_json()["coins"], sent.get_json()["diamonds"], sent.get_json()["balance_after"]) == (598, 598, 102)
    refused = gift(client, auth, gift_id="lion")
    assert refused.status_code == 409 and refused.content_type == "application/problem+json"
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json()["balance"] == 102
    [event] = outbox_events(svc)
    assert (event["type"], event["data"]["creator_id"], event["data"]["diamonds"]) == ("gift.sent", "creator", 598)


def test_a_gift_writes_the_debit_the_gift_its_ledger_entry_and_its_event_together(gifting, auth):
    # PostgreSQL writes them in one statement, SQLite in four: the rows must be the same.
    import sqlalchemy as sa

    from services.gifting.adapters.orm import metadata

    t = metadata.tables
    svc, client = gifting
    fund(svc, "viewer", 700)
    sent = gift(client, auth, gift_id="corgi", quantity=2, stream_id="live-1").get_json()
    with svc.engine.connect() as conn:
        wallet = conn.execute(
            sa.select(t["wallets"].c.balance_coins, t["wallets"].c.version).where(t["wallets"].c.user_id == "viewer")
        ).one()
        stored = conn.execute(sa.select(t["gifts"])).mappings().one()
        entries = t["wallet_entries"]
        entry = conn.execute(sa.select(entries).where(entries.c.kind == "gift")).mappings().one()
        event_row = conn.execute(sa.select(t["outbox"])).mappings().one()
    assert tuple(wallet) == (102, 2)  # the purchase credit, then the gift's debit
    assert {
        k: stored[k]
        for k in (
            "gift_tx_id",
            "sender_id",
            "creator_id",
            "gift_id",
            "quantity",
            "coins_each",
            "total_coins",
            "diamonds",
            "stream_id",
            "balance_after",
        )
    } == {
        "gift_tx_id": sent["gift_tx_id"],
        "sender_id": "viewer",
        "creator_id": "creator",
        "gift_id": "corgi",
        "quantity": 2,
        "coins_each": 299,
        "total_coins": 598,
        "diamonds": 598,
        "stream_id": "live-1",
        "balance_after": 102,
    }
    assert stored["sent_at"].tzinfo is not None
    assert (entry["user_id"], entry["delta_coins"], entry["balance_after"], entry["reference"]) == (
        "viewer",
        -598,
        102,
        sent["gift_tx_id"],
    )
    assert (event_row["topic"], event_row["message_key"], event_row["published_at"]) == (
        "gift.sent.v1",
        "creator",
        None,
    )
    [event] = outbox_events(svc)
    assert event["event_id"] == event_row["event_id"] and event["data"]["gift_tx_id"] == sent["gift_tx_id"]
    assert (event["data"]["coins"], event["data"]["quantity"], event["data"]["stream_id"]) == (598, 2, "live-1")


def test_gifts_racing_for_one_balance_never_overdraw_it(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 1_000)
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda _: gift(client, auth, gift_id="confetti"), range(30)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 10 and statuses.count(409) == 20, statuses
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json()["balance"] == 0
    assert sum(e["data"]["coins"] for e in outbox_events(svc)) == 1_000


def test_self_gifts_unknown_gifts_and_bad_quantities_are_422(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 100)
    for body, field in [
        ({"creator_id": "viewer"}, "creator_id"),
        ({"gift_id": "unicorn"}, "gift_id"),
        ({"quantity": 100}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"sender_id": None}, "sender_id"),
    ]:
        response = gift(client, auth, **body)
        assert response.status_code == 422 and field in response.get_json()["errors"], (body, response.get_json())
    assert rows(svc, "gifts") == 0 and rows(svc, "outbox") == 0


def test_a_chargeback_freezes_the_wallet_below_zero_until_coins_are_bought(gifting, auth):
    svc, client = gifting
    purchase_id = fund(svc, "viewer", 700)
    assert gift(client, auth, gift_id="concert").status_code == 201  # 500 coins spent
    run(
        handlers.claw_back_purchase,
        ClawBackPurchase(purchase_id=purchase_id, chargeback_id="cb-1", user_id="viewer", coins=700),
        uow=svc.uow(),
    )
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json() == {
        "user_id": "viewer",
        "balance": -500,
        "status": "frozen",
    }
    assert gift(client, auth).status_code == 403
    fund(svc, "viewer", 700)
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json()["status"] == "active"
    assert gift(client, auth).status_code == 201


def test_the_ledger_pages_newest_first(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 50)
    for _ in range(4):
        assert gift(client, auth, gift_id="panda").status_code == 201
    first = client.get("/v1/wallets/viewer/transactions?limit=3", headers=auth()).get_json()
    assert [t["delta_coins"] for t in first["transactions"]] == [-5, -5, -5]
    assert [t["balance_after"] for t in first["transactions"]] == [30, 35, 40]
    rest = client.get(
        f"/v1/wallets/viewer/transactions?limit=3&cursor={first['next_cursor']}", headers=auth()
    ).get_json()
    assert [(t["kind"], t["delta_coins"]) for t in rest["transactions"]] == [("gift", -5), ("purchase", 50)]
    assert rest["next_cursor"] is None
    assert client.get("/v1/wallets/viewer/transactions?cursor=abc", headers=auth()).status_code == 422


def test_the_leaderboard_ranks_a_streams_gifters_by_coins(gifting, auth):
    svc, client = gifting
    for viewer, coins in [("ann", 100), ("bob", 100), ("cyd", 100)]:
        fund(svc, viewer, coins)
    gift(client, auth, sender_id="ann", gift_id="perfume", stream_id="s1")
    gift(client, auth, sender_id="bob", gift_id="doughnut", quantity=2, stream_id="s1")
    gift(client, auth, sender_id="cyd", gift_id="galaxy", stream_id="s1")  # refused: 409
    gift(client, auth, sender_id="cyd", gift_id="rose", stream_id="other")
    board = client.get("/v1/streams/s1/leaderboard", headers=auth()).get_json()["leaderboard"]
    assert [(e["rank"], e["sender_id"], e["coins"]) for e in board] == [(1, "bob", 60), (2, "ann", 20)]


def test_replayed_gift_returns_the_first_transaction(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 10)
    headers = auth(**{"Idempotency-Key": "same"})
    body = {"sender_id": "viewer", "creator_id": "creator", "gift_id": "panda"}
    first, second = (client.post("/v1/gifts", json=body, headers=headers) for _ in range(2))
    assert second.headers.get("Idempotent-Replayed") == "true" and second.get_json() == first.get_json()
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json()["balance"] == 5


def test_a_gift_key_and_its_effect_commit_together_and_a_duplicate_in_flight_replays_the_first(make_service, auth):
    import threading

    import sqlalchemy as sa

    svc, client = make_service("gifting", backend="postgres")
    fund(svc, "viewer", 100)
    headers = auth(**{"Idempotency-Key": "one-key"})
    body = {"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose"}
    with svc.engine.connect() as holder, ThreadPoolExecutor(2) as pool:
        holder.begin()  # holds the sender's wallet: both requests are in flight, neither has committed
        holder.execute(sa.text("SELECT 1 FROM wallets WHERE user_id = 'viewer' FOR UPDATE"))
        started = threading.Barrier(2)
        sent = [
            pool.submit(lambda: (started.wait(10), client.post("/v1/gifts", json=body, headers=headers))[1])
            for _ in range(2)
        ]
        wait_until(lambda: sessions_waiting_on_a_lock(svc) >= 2, timeout=10)
        assert not any(f.done() for f in sent) and rows(svc, "idempotency_keys") == 0
        holder.rollback()
        first, duplicate = sorted((f.result() for f in sent), key=lambda r: "Idempotent-Replayed" in r.headers)
    assert first.status_code == duplicate.status_code == 201
    assert duplicate.headers["Idempotent-Replayed"] == "true" and duplicate.data == first.data
    assert (rows(svc, "gifts"), rows(svc, "outbox"), rows(svc, "idempotency_keys")) == (1, 1, 1)
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json()["balance"] == 99


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_gift_is_one_statement_on_postgresql_and_its_retry_renders_the_gift_again(make_service, auth, backend):
    import sqlalchemy as sa
    from sqlalchemy import event

    svc, client = make_service("gifting", backend=backend)
    fund(svc, "viewer", 100)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
    event.listen(svc.engine, "before_cursor_execute", listener)
    headers = auth(**{"Idempotency-Key": "the-key"})
    body = {"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose", "stream_id": "s1"}
    first = client.post("/v1/gifts", json=body, headers=headers)
    event.remove(svc.engine, "before_cursor_execute", listener)
    assert first.status_code == 201
    if backend == "postgres":  # debit, gift, ledger entry, event and key: one statement, committing on its own
        assert len(statements) == 1
    with svc.engine.connect() as conn:
        stored = conn.execute(sa.select(svc.tables["idempotency_keys"])).one()
    assert (stored.state, stored.response_status) == ("done", 201)
    assert (stored.response_body is None) == (backend == "postgres")  # there, the answer is the gift itself
    again = client.post("/v1/gifts", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data  # the same bytes, rendered again from the gift
    reused = client.post("/v1/gifts", json={**body, "gift_id": "panda"}, headers=headers)
    assert reused.status_code == 422
    assert (rows(svc, "gifts"), rows(svc, "idempotency_keys")) == (1, 1)
    assert client.get("/v1/wallets/viewer", headers=auth()).get_json()["balance"] == 99


def sessions_waiting_on_a_lock(svc) -> int:
    import sqlalchemy as sa

    with svc.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar()


def test_a_key_claimed_by_an_uncommitted_request_is_409_at_once_never_a_wait(make_service):
    import sqlalchemy as sa

    from shared.errors import Problem

    svc, _ = make_service("gifting", backend="postgres")
    store = KeyStore(svc.tables["idempotency_keys"], 60)
    request = KeyedRequest("gateway", "k", "hash")
    with svc.engine.connect() as first, svc.engine.connect() as second:
        first.begin()
        assert store.settle_in(first, Claim(request), Answer(201, "{}")) is None
        second.begin()
        second.execute(sa.text("SET LOCAL lock_timeout = '2s'"))  # a wait would fail this test, not hang it
        with pytest.raises(Problem) as in_flight:
            store.settle_in(second, Claim(request), Answer(201, "{}"))
        assert in_flight.value.status == 409
        second.rollback()
        first.commit()
        second.begin()
        assert store.settle_in(second, Claim(request), Answer(409, "{}")) == Answer(201, "{}", replayed=True)
        with pytest.raises(Problem) as reused:
            store.settle_in(second, Claim(KeyedRequest("gateway", "k", "other body")), Answer(201, "{}"))
        assert reused.value.status == 422


@pytest.mark.parametrize("state", ["open", "in_flight"])
@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_key_left_by_a_failed_or_dead_attempt_is_taken_by_the_same_request_only(make_service, backend, state):
    from datetime import timedelta

    import sqlalchemy as sa

    from shared.clock import utcnow
    from shared.errors import Problem

    svc, _ = make_service("gifting", backend=backend)
    table = svc.tables["idempotency_keys"]
    store = KeyStore(table, 60)
    with svc.engine.begin() as conn:  # an attempt that failed, or whose process died long ago
        conn.execute(
            table.insert().values(
                caller="gateway",
                key="k",
                request_hash="hash",
                state=state,
                owner="dead" if state == "in_flight" else None,
                lease_until=utcnow() - timedelta(minutes=5),
                created_at=utcnow(),
            )
        )
    with svc.engine.begin() as conn, pytest.raises(Problem) as reused:
        store.settle_in(conn, Claim(KeyedRequest("gateway", "k", "another request")), Answer(201, "{}"))
    assert reused.value.status == 422
    with svc.engine.begin() as conn:
        assert store.settle_in(conn, Claim(KeyedRequest("gateway", "k", "hash")), Answer(201, '{"ok":1}')) is None
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(table)).one()
    assert (row.state, row.response_status, row.response_body) == ("done", 201, '{"ok":1}')


def test_a_gift_whose_key_a_failed_attempt_left_open_takes_it_over_and_another_body_is_422(make_service, auth):
    import json

    import sqlalchemy as sa

    from shared.clock import utcnow

    svc, client = make_service("gifting", backend="postgres")
    fund(svc, "viewer", 100)
    body = {"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose"}
    table = svc.tables["idempotency_keys"]
    request = KeyedRequest.of(
        caller="gateway", key="k", method="POST", path="/v1/gifts", body=json.dumps(body).encode()
    )
    with svc.engine.begin() as conn:  # the key of an attempt that failed (a 5xx) without an effect
        conn.execute(
            table.insert().values(
                caller="gateway",
                key="k",
                state="open",
                lease_until=utcnow(),
                request_hash=request.fingerprint,
                created_at=utcnow(),
            )
        )
    other = client.post("/v1/gifts", json={**body, "creator_id": "bob"}, headers=auth(**{"Idempotency-Key": "k"}))
    assert other.status_code == 422
    sent = client.post("/v1/gifts", json=body, headers=auth(**{"Idempotency-Key": "k"}))
    assert sent.status_code == 201 and "Idempotent-Replayed" not in sent.headers
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(table)).one()
    assert (row.state, row.response_status, row.response_body) == ("done", 201, sent.get_data(as_text=True))
    assert rows(svc, "gifts") == 1


def test_a_gift_refused_for_want_of_coins_is_not_final_the_same_key_sends_it_once_the_wallet_is_funded(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 10)
    headers = auth(**{"Idempotency-Key": "too-dear"})
    body = {"sender_id": "viewer", "creator_id": "creator", "gift_id": "lion"}
    refused = client.post("/v1/gifts", json=body, headers=headers)
    assert refused.status_code == 409 and (rows(svc, "gifts"), rows(svc, "outbox")) == (0, 0)
    assert client.post("/v1/gifts", json={**body, "gift_id": "rose"}, headers=headers).status_code == 422  # its key
    fund(svc, "viewer", 50_000)
    sent = client.post("/v1/gifts", json=body, headers=headers)
    assert sent.status_code == 201 and "Idempotent-Replayed" not in sent.headers
    again = client.post("/v1/gifts", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert (rows(svc, "gifts"), client.get("/v1/wallets/viewer", headers=auth()).get_json()["balance"]) == (1, 20_011)


def test_a_gift_refused_by_its_own_rules_keeps_its_answer(gifting, auth):
    svc, client = gifting
    fund(svc, "viewer", 10)
    headers = auth(**{"Idempotency-Key": "to-myself"})
    body = {"sender_id": "viewer", "creator_id": "viewer", "gift_id": "rose"}
    assert client.post("/v1/gifts", json=body, headers=headers).status_code == 422
    again = client.post("/v1/gifts", json=body, headers=headers)
    assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
    assert (rows(svc, "gifts"), rows(svc, "outbox")) == (0, 0)
