"""The batch gift API (`POST /v1/gift-batches`) on PostgreSQL and SQLite: each item answered as if
sent alone, in order, replayed by its own key (shared with `POST /v1/gifts`), never overdrawing; a
handful of statements whatever the batch size; concurrent batches never overdraw nor deadlock."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.gifting.adapters.orm import tables, wallets
from services.gifting.domain.commands import ClawBackPurchase
from services.gifting.service_layer import handlers
from shared.clock import utcnow
from shared.messaging.uow import run
from shared.observability import metrics
from tests.integration.conftest import rows
from tests.integration.test_gifting_api import fund
from tests.integration.test_grants import grant

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgres", "sqlite"])
def gifting(request, make_service):
    return make_service("gifting", backend=request.param)


@pytest.fixture
def auth(auth_for):
    return auth_for("gifting")


def item(key: str | None = None, **fields) -> dict:
    body = {"sender_id": "ann", "creator_id": "cara", "gift_id": "rose", "quantity": 1, **fields}
    return {**body, "idempotency_key": uuid.uuid4().hex if key is None else key}


def send(client, auth, items, caller="gateway"):
    response = client.post("/v1/gift-batches", json={"gifts": items}, headers=auth(caller))
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    return results


def outcomes(results) -> list[str]:
    return [r["outcome"] for r in results]


def code(result) -> str:
    return result["problem"]["type"].rsplit("/", 1)[-1]


def books_balance(svc, client, auth) -> dict:
    """Gifting's side of the auditor's checks: every coin in a wallet or spent, every wallet equal
    to its ledger, one gift.sent event per gift."""
    totals = client.get("/v1/internal/totals", headers=auth("ops")).get_json()
    assert totals["wallets_ledger_mismatch"] == []
    credited = totals["coins_credited"] - totals["coins_clawed_back"]
    assert totals["coins_in_wallets"] + totals["coins_spent_on_gifts"] == credited
    assert totals["events_written"].get("gift.sent.v1", 0) == rows(svc, "gifts")
    assert rows(svc, "wallet_entries") == rows(svc, "gifts") + len(_purchases(svc))
    return totals


def _purchases(svc) -> list:
    with svc.engine.connect() as conn:
        return conn.execute(sa.text("SELECT entry_id FROM wallet_entries WHERE kind <> 'gift'")).all()


def balance(svc, user: str = "ann") -> int:
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(wallets.c.balance_coins).where(wallets.c.user_id == user)).scalar() or 0


def test_a_batch_spends_in_order_and_never_overdraws_and_a_retry_replays_item_by_item(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 10)
    batch = [item(quantity=6), item(quantity=6), item(quantity=3)]
    first = send(client, auth, batch)
    assert outcomes(first) == ["created", "insufficient-coins", "created"]
    assert [r["status"] for r in first] == [201, 409, 201]
    assert (first[0]["gift"]["balance_after"], first[2]["gift"]["balance_after"]) == (4, 1)
    assert first[1]["problem"]["status"] == 409 and code(first[1]) == "insufficient-coins"
    again = send(client, auth, batch)
    assert outcomes(again) == ["replayed", "insufficient-coins", "replayed"]
    assert [r["gift"]["gift_tx_id"] for r in again if "gift" in r] == [
        first[0]["gift"]["gift_tx_id"],
        first[2]["gift"]["gift_tx_id"],
    ]
    fund(svc, "ann", 5)  # not enough coins is not kept: the same item goes through once they are there
    third = send(client, auth, batch)
    assert outcomes(third) == ["replayed", "created", "replayed"]
    assert (balance(svc), rows(svc, "gifts")) == (0, 3)
    books_balance(svc, client, auth)


def test_a_partly_new_batch_applies_only_its_new_items(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 100)
    old = [item(), item(gift_id="panda")]
    send(client, auth, old)
    results = send(client, auth, [*old, item(quantity=2), item(gift_id="perfume")])
    assert outcomes(results) == ["replayed", "replayed", "created", "created"]
    assert (balance(svc), rows(svc, "gifts")) == (100 - 1 - 5 - 2 - 20, 4)
    books_balance(svc, client, auth)


def test_a_frozen_wallet_refuses_its_items_and_others_in_the_batch_go_through(gifting, auth):
    svc, client = gifting
    purchase = fund(svc, "ann", 5)
    fund(svc, "bob", 5)
    run(
        handlers.claw_back_purchase,
        ClawBackPurchase(purchase_id=purchase, chargeback_id="cb-1", user_id="ann", coins=8),
        uow=svc.uow(),
    )
    results = send(client, auth, [item(), item(sender_id="bob")])
    assert outcomes(results) == ["frozen", "created"]
    assert results[0]["status"] == 403 and code(results[0]) == "wallet-frozen"
    books_balance(svc, client, auth)


def test_a_bad_item_is_its_own_outcome_with_the_problem_it_would_get_alone(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 100)
    no_key = item()
    del no_key["idempotency_key"]
    results = send(
        client,
        auth,
        [
            item(gift_id="unicorn"),
            no_key,
            item(key=""),
            item(creator_id="ann"),
            item(quantity=0),
            {**item(), "colour": "red"},
            "not an object",
            None,
            item(),
        ],
    )
    assert outcomes(results) == ["invalid"] * 8 + ["created"]
    assert [r["status"] for r in results] == [422] * 8 + [201]
    assert "gift_id" in results[0]["problem"]["errors"]
    assert "idempotency_key" in results[1]["problem"]["errors"]
    assert "idempotency_key" in results[2]["problem"]["errors"]
    assert code(results[3]) == "self-gift" and "creator_id" in results[3]["problem"]["errors"]
    assert "quantity" in results[4]["problem"]["errors"]
    assert "colour" in results[5]["problem"]["errors"]
    assert results[1]["idempotency_key"] is None
    assert rows(svc, "gifts") == 1
    books_balance(svc, client, auth)


def test_text_no_database_can_store_in_an_item_is_that_items_refusal_not_the_batchs(gifting, auth):
    """A lone surrogate ("\\ud800", which JSON lets through) in one item's field is that item's 422
    naming the field, as POST /v1/gifts answers that body alone; the batch's other items go through."""
    svc, client = gifting
    fund(svc, "ann", 100)
    unstorable = json.dumps(item(stream_id="live-1")).replace("live-1", "live-\\ud800")  # the escape, as sent
    raw = f'{{"gifts": [{unstorable}, {json.dumps(item())}]}}'
    response = client.post(
        "/v1/gift-batches", data=raw, headers={**auth("gateway"), "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert outcomes(results) == ["invalid", "created"] and results[0]["status"] == 422
    assert list(results[0]["problem"]["errors"]) == ["stream_id"]
    assert rows(svc, "gifts") == 1


def test_a_field_an_item_names_twice_is_that_items_refusal_not_the_batchs(gifting, auth):
    """`"quantity": 1, "quantity": 99` in one item: which would count? That item's 422 naming the
    field, as POST /v1/gifts answers that body alone; the batch's other items go through. Named
    twice outside the items, it is the batch's 422."""
    svc, client = gifting
    fund(svc, "ann", 100)
    twice = json.dumps(item(quantity=1))[:-1] + ', "quantity": 99}'
    raw = f'{{"gifts": [{twice}, {json.dumps(item())}]}}'
    headers = {**auth("gateway"), "Content-Type": "application/json"}
    response = client.post("/v1/gift-batches", data=raw, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert outcomes(results) == ["invalid", "created"] and results[0]["status"] == 422
    assert results[0]["problem"]["errors"] == {"quantity": ["Given more than once."]}
    assert rows(svc, "gifts") == 1
    whole = client.post("/v1/gift-batches", data=f'{{"gifts": [], "gifts": [{json.dumps(item())}]}}', headers=headers)
    assert whole.status_code == 422 and whole.get_json()["errors"] == {"gifts": ["Given more than once."]}
    assert rows(svc, "gifts") == 1


def test_an_item_key_is_the_single_gifts_key_the_same_gift_replays_by_either_route(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 100)
    single = {"sender_id": "ann", "creator_id": "cara", "gift_id": "rose", "quantity": 1}
    alone = client.post("/v1/gifts", json=single, headers=auth(**{"Idempotency-Key": "k-alone"}))
    assert alone.status_code == 201
    results = send(
        client,
        auth,
        [{**single, "idempotency_key": "k-alone"}, {**single, "quantity": 2, "idempotency_key": "k-alone"}],
    )
    assert outcomes(results) == ["replayed", "key-reused"]
    assert results[0]["gift"]["gift_tx_id"] == alone.get_json()["gift_tx_id"]
    assert results[1]["status"] == 422 and code(results[1]) == "idempotency-key-reused"
    [made] = send(client, auth, [{**single, "gift_id": "panda", "idempotency_key": "k-batch"}])
    later = client.post(
        "/v1/gifts", json={**single, "gift_id": "panda"}, headers=auth(**{"Idempotency-Key": "k-batch"})
    )
    assert later.status_code == 201 and later.headers.get("Idempotent-Replayed") == "true"
    assert later.get_json()["gift_tx_id"] == made["gift"]["gift_tx_id"]
    other = client.post("/v1/gifts", json=single, headers=auth(**{"Idempotency-Key": "k-batch"}))
    assert other.status_code == 422
    assert rows(svc, "gifts") == 2
    books_balance(svc, client, auth)


def test_two_items_with_one_key_the_second_replays_the_first_or_is_refused_if_it_differs(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 100)
    results = send(client, auth, [item("dup"), item("dup"), item("dup", quantity=3)])
    assert outcomes(results) == ["created", "replayed", "key-reused"]
    assert results[0]["gift"]["gift_tx_id"] == results[1]["gift"]["gift_tx_id"]
    assert (rows(svc, "gifts"), balance(svc)) == (1, 99)


def test_a_kept_refusal_replays_and_a_passing_one_is_answered_afresh_within_one_batch(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 5)
    results = send(
        client, auth, [item("self", creator_id="ann"), item("self", creator_id="ann"), item("big", quantity=9)]
    )
    assert outcomes(results) == ["invalid", "invalid", "insufficient-coins"]
    assert results[1]["problem"] == results[0]["problem"]


def test_only_live_and_the_gateway_may_send_batches(gifting, auth):
    _, client = gifting
    refused = client.post("/v1/gift-batches", json={"gifts": [item()]}, headers=auth("app"))
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"


def test_a_whole_request_error_is_one_problem(gifting, auth):
    _, client = gifting
    too_many = client.post("/v1/gift-batches", json={"gifts": [item() for _ in range(1001)]}, headers=auth())
    assert too_many.status_code == 422 and "gifts" in too_many.get_json()["errors"]
    for body in ({}, {"gifts": []}, {"gifts": "x"}):
        response = client.post("/v1/gift-batches", json=body, headers=auth())
        assert response.status_code == 422 and "gifts" in response.get_json()["errors"], body
    malformed = client.post("/v1/gift-batches", data="{", content_type="application/json", headers=auth())
    assert malformed.status_code == 400
    unsigned = client.post("/v1/gift-batches", json={"gifts": [item()]})
    assert unsigned.status_code == 401
    header_grant = client.post("/v1/gift-batches", json={"gifts": [item()]}, headers=auth(**{"X-User-Grant": "x"}))
    assert header_grant.status_code == 403 and header_grant.get_json()["type"].endswith("/grant-scope")


def test_a_grant_spent_by_another_users_request_since_the_batch_read_it_is_that_items_refusal(
    make_service, auth, caller_keys, monkeypatch
):
    """Two users' grants with one (iss, jti) (an issuer's fault): the batch reads ann's unspent
    under ann's wallet lock, and bob's request, holding only bob's, spends bob's before the batch
    writes (PostgreSQL: on SQLite one writer at a time). Never a 500: the batch is answered again,
    and that item is refused as replayed."""
    from services.gifting.adapters.gift_batch import SqlAlchemyGiftBatchRepository
    from tests.integration.test_grants import hand_made_grant

    svc, client = make_service("gifting")
    fund(svc, "ann", 100)
    fund(svc, "bob", 100)
    jti, read, reads = uuid.uuid4().hex, SqlAlchemyGiftBatchRepository.spent_grants, []

    def spent_grants(self, grants):
        reads.append(spent := read(self, grants))
        if len(reads) == 1:  # then bob's gift, on a connection of its own, spends bob's grant
            with svc.engine.begin() as conn:
                now = utcnow()
                row = {"issuer": "gateway", "jti": jti, "user_id": "bob", "caller": "live", "used_at": now}
                conn.execute(sa.insert(tables["used_grants"]), {**row, "expires_at": now + timedelta(minutes=5)})
        return spent

    monkeypatch.setattr(SqlAlchemyGiftBatchRepository, "spent_grants", spent_grants)
    anns = [item(grant=hand_made_grant(caller_keys, sub="ann", jti=jti)), item(grant=grant(caller_keys))]
    results = send(client, auth, anns, caller="live")
    assert outcomes(results) == ["grant-refused", "created"] and code(results[0]) == "grant-replayed"
    assert rows(svc, "used_grants") == 2 and rows(svc, "gifts") == 1


def test_live_sends_its_viewers_gifts_each_with_a_grant_spent_once(gifting, auth, caller_keys):
    svc, client = gifting
    fund(svc, "ann", 100)
    fund(svc, "bob", 100)
    good = grant(caller_keys, max_coins=5)
    small = grant(caller_keys, max_coins=1)
    for_cara = grant(caller_keys, creator_id="cara")
    bobs = grant(caller_keys, user="bob")
    replays = metrics.HTTP_REFUSALS.labels("gifting", "403", "grant-replayed")
    before = replays._value.get()
    results = send(
        client,
        auth,
        [
            item(grant=good),
            item(),  # no grant
            item(quantity=2, grant=small),
            item(grant=good),  # the same grant again: spent by the first item
            item(creator_id="carl", grant=for_cara),
            item(grant=bobs),  # bob's grant for ann's gift
            item(sender_id="bob", grant=bobs),
            item(grant="not-a-token"),
        ],
        caller="live",
    )
    assert outcomes(results) == ["created", *["grant-refused"] * 5, "created", "grant-refused"]
    assert [code(r) for r in results if r["outcome"] != "created"] == [
        "grant-required",
        "grant-exceeded",
        "grant-replayed",
        "grant-scope",
        "grant-scope",
        "grant-invalid",
    ]
    assert replays._value.get() == before + 1  # counted as alone, for the CoinsUserGrantsReplayed alert
    assert rows(svc, "used_grants") == 2
    retried = send(client, auth, [results_item for results_item in [item(grant=good)]], caller="live")
    assert outcomes(retried) == ["grant-refused"]  # a new gift with a spent grant
    books_balance(svc, client, auth)


def test_a_grant_refusal_is_not_kept_so_the_same_item_with_a_good_grant_goes_through(gifting, auth, caller_keys):
    svc, client = gifting
    fund(svc, "ann", 10)
    refused = send(client, auth, [item("k", quantity=2, grant=grant(caller_keys, max_coins=1))], caller="live")
    assert outcomes(refused) == ["grant-refused"]
    done = send(client, auth, [item("k", quantity=2, grant=grant(caller_keys, max_coins=2))], caller="live")
    assert outcomes(done) == ["created"]
    replay = send(client, auth, [item("k", quantity=2, grant="whatever")], caller="live")
    assert outcomes(replay) == ["replayed"]  # the key answers first, whatever became of the grant


def test_a_key_reads_the_same_on_either_route_so_one_outside_printable_ascii_is_refused_on_both(gifting, auth):
    """A header's key arrives trimmed and as Latin-1, an item's as JSON text: "café" or " k" would be
    two keys for one gift. Both routes refuse them; a key with inner spaces is the same on both."""
    svc, client = gifting
    fund(svc, "ann", 10)
    body = {k: v for k, v in item().items() if k != "idempotency_key"}
    alone = client.post("/v1/gifts", json=body, headers=auth(**{"Idempotency-Key": "café-1"}))
    assert alone.status_code == 400 and alone.get_json()["type"].endswith("idempotency-key-invalid")
    results = send(client, auth, [item("café-1"), item(" k"), item("k "), item("tap 1")])
    assert outcomes(results) == ["invalid"] * 3 + ["created"]
    assert all("idempotency_key" in r["problem"]["errors"] for r in results[:3])
    again = client.post("/v1/gifts", json=body, headers=auth(**{"Idempotency-Key": "tap 1"}))
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert rows(svc, "gifts") == 1


@pytest.mark.parametrize("bad_grant", ["", 12345, "x" * 8193])
def test_an_items_grant_that_is_no_token_is_a_grant_refusal_its_key_does_not_keep(
    gifting, auth, caller_keys, bad_grant
):
    """As the X-User-Grant header of POST /v1/gifts: 403 grant-invalid, and the same item with a
    good grant then goes through (a 422 would have been kept, under a fingerprint without the grant)."""
    svc, client = gifting
    fund(svc, "ann", 10)
    [refused] = send(client, auth, [item("k1", grant=bad_grant)], caller="live")
    assert (refused["status"], refused["outcome"], code(refused)) == (403, "grant-refused", "grant-invalid")
    assert outcomes(send(client, auth, [item("k1", grant=grant(caller_keys, max_coins=1))], caller="live")) == [
        "created"
    ]
    assert rows(svc, "gifts") == 1


@pytest.mark.parametrize("caller", ["gateway", "live"])
def test_a_batch_is_the_same_handful_of_statements_for_10_gifts_as_for_500(make_service, auth, caller_keys, caller):
    svc, client = make_service("gifting", backend="postgres")
    viewers = [f"v{i}" for i in range(50)]
    for viewer in viewers:
        fund(svc, viewer, 1000)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def measured(size: int) -> int:
        senders = [viewers[i % len(viewers)] for i in range(size)]
        grants = {"grant": None} if caller == "gateway" else None
        batch = [
            item(sender_id=sender, **(grants or {"grant": grant(caller_keys, user=sender, max_coins=1)}))
            for sender in senders
        ]
        again = batch[: size // 2]  # half of them sent before: replayed
        send(client, auth, again, caller=caller)
        statements.clear()
        sa.event.listen(svc.engine, "before_cursor_execute", count)
        try:
            results = send(client, auth, batch, caller=caller)
        finally:
            sa.event.remove(svc.engine, "before_cursor_execute", count)
        assert outcomes(results) == ["replayed"] * len(again) + ["created"] * (size - len(again))
        return len(statements)

    small, large = measured(10), measured(500)
    print(f"statements per batch ({caller}):", small, large)
    assert small == large <= 11, (small, large)
    books_balance(svc, client, auth)


def test_concurrent_batches_from_overlapping_senders_never_overdraw_nor_deadlock(make_service, auth):
    svc, client = make_service("gifting", backend="postgres")
    senders = [f"s{i}" for i in range(20)]
    for sender in senders:
        fund(svc, sender, 50)
    clients = [client, client.application.test_client(), client.application.test_client()]
    start = threading.Barrier(len(clients))
    answers: list[list] = [[] for _ in clients]

    def one(index: int) -> None:
        # each batch asks 30 coins of every sender (in its own order): 90 asked of 50 each
        order = senders if index % 2 == 0 else list(reversed(senders))
        batch = [item(sender_id=s, quantity=10, creator_id=f"c{index}") for s in order for _ in range(3)]
        start.wait()
        for _ in range(2):
            answers[index].append(send(clients[index], auth, batch))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    created = sum(o == "created" for runs in answers for results in runs for o in outcomes(results))
    assert created == rows(svc, "gifts") == len(senders) * 5  # 50 coins: five gifts of 10 each
    assert all(balance(svc, s) == 0 for s in senders)
    books_balance(svc, client, auth)


def test_every_gift_of_a_batch_has_the_event_a_gift_sent_alone_has(gifting, auth):
    """The batch checks the gift.sent contract once per event shape, not per event: every event is
    still within its contract and is the envelope the single gift writes, field for field."""
    from shared.contracts import parse_envelope
    from tests.integration.conftest import outbox_events
    from tests.integration.test_gifting_api import gift

    svc, client = gifting
    for viewer in ("ann", "bob"):
        fund(svc, viewer, 100)
    assert gift(client, auth, sender_id="ann", creator_id="cara", quantity=2, stream_id="s-1").status_code == 201
    batch = [item(quantity=2, stream_id="s-1"), item(sender_id="bob", creator_id="dan"), item(quantity=99)]
    results = send(client, auth, batch)
    assert outcomes(results) == ["created", "created", "insufficient-coins"]
    events = outbox_events(svc)
    assert len(events) == 3
    for event in events:
        envelope, data = parse_envelope(event)
        assert envelope.topic == "gift.sent.v1" and list(event["data"]) == list(data)
    alone, batched = events[0], events[1]
    assert list(alone) == list(batched)
    assert {k: v for k, v in alone["data"].items() if k not in ("gift_tx_id", "sent_at")} == {
        k: v for k, v in batched["data"].items() if k not in ("gift_tx_id", "sent_at")
    }
    assert [e["data"]["gift_tx_id"] for e in events[1:]] == [r["gift"]["gift_tx_id"] for r in results[:2]]


def key_states(svc) -> dict[str, tuple[str, str | None]]:
    with svc.engine.connect() as conn:
        return {r.key: (r.state, r.owner) for r in conn.execute(sa.select(svc.tables["idempotency_keys"]))}


def test_every_key_a_batch_claims_is_settled_done_or_open_never_left_in_flight(gifting, auth):
    svc, client = gifting
    fund(svc, "ann", 5)
    keyless = {name: value for name, value in item().items() if name != "idempotency_key"}
    results = send(
        client,
        auth,
        [
            *(item("a"), item("a"), item("a", quantity=2)),
            *(item("big", quantity=50), item("big", quantity=50), item("big", quantity=51)),
            *(item("self", creator_id="ann"), item("self", creator_id="ann", quantity=2)),
            *(keyless, item("bad", gift_id="unicorn"), item("bad", gift_id="unicorn")),
        ],
    )
    assert outcomes(results) == [
        *("created", "replayed", "key-reused"),
        *("insufficient-coins", "insufficient-coins", "key-reused"),
        *("invalid", "key-reused"),
        *("invalid", "invalid", "invalid"),
    ]
    states = key_states(svc)
    assert {key: state for key, (state, _) in states.items()} == {
        "a": "done",
        "big": "open",  # a passing refusal: kept for this request only, answered afresh
        "self": "done",
        "bad": "done",
    }
    assert states["big"][1] is None


def test_a_key_held_by_a_live_attempt_is_in_flight_and_untouched_a_lapsed_one_is_taken(gifting, auth):
    from datetime import timedelta

    from shared.clock import utcnow
    from shared.idempotency import KeyedRequest

    svc, client = gifting
    fund(svc, "ann", 100)
    body = {name: value for name, value in item().items() if name != "idempotency_key"}
    fingerprint = KeyedRequest.of_json(caller="gateway", key="-", method="POST", path="/v1/gifts", value=body)
    table = svc.tables["idempotency_keys"]
    with svc.engine.begin() as conn:
        for key, lease in (("live", timedelta(minutes=5)), ("lapsed", timedelta(minutes=-5))):
            held = {"state": "in_flight", "owner": "another", "lease_until": utcnow() + lease, "created_at": utcnow()}
            conn.execute(table.insert().values(caller="gateway", key=key, request_hash=fingerprint.fingerprint, **held))
    results = send(client, auth, [{**body, "idempotency_key": key} for key in ("live", "lapsed", "live")])
    assert outcomes(results) == ["in-flight", "created", "in-flight"]
    states = key_states(svc)
    assert states["live"] == ("in_flight", "another") and states["lapsed"][0] == "done"


def test_a_batch_takes_its_senders_wallets_before_its_keys_as_a_single_gift_does(make_service, auth):
    """The lock order a single gift keeps (its wallet, then its key): a transaction holding a
    sender's wallet that then writes the batch's key never deadlocks with the batch."""
    from shared.idempotency import KeyedRequest
    from tests.integration.test_gifting_api import sessions_waiting_on_a_lock

    svc, client = make_service("gifting", backend="postgres")
    fund(svc, "ann", 10)
    body = {name: value for name, value in item().items() if name != "idempotency_key"}
    fingerprint = KeyedRequest.of_json(caller="gateway", key="-", method="POST", path="/v1/gifts", value=body)
    answers = []
    deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    with svc.engine.connect() as conn:
        deadlocks_before = conn.execute(sa.text(deadlocks)).scalar()
    with svc.engine.connect() as single:
        single.begin()
        single.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a deadlock or a wait fails this test, not hangs it
        single.execute(sa.update(wallets).where(wallets.c.user_id == "ann").values(version=wallets.c.version + 1))
        batch = threading.Thread(target=lambda: answers.append(send(client, auth, [{**body, "idempotency_key": "K"}])))
        batch.start()
        deadline = time.monotonic() + 10
        while sessions_waiting_on_a_lock(svc) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sessions_waiting_on_a_lock(svc) == 1  # the batch waits on the wallet, holding no key
        left_open = {"state": "open", "owner": None, "lease_until": sa.func.now(), "created_at": sa.func.now()}
        values = {"caller": "gateway", "key": "K", "request_hash": fingerprint.fingerprint, **left_open}
        single.execute(sa.insert(svc.tables["idempotency_keys"]).values(**values))  # waits on nothing
        single.commit()
        batch.join(timeout=30)
    assert outcomes(answers[0]) == ["created"]  # the key was free for this request: the gift is made
    assert key_states(svc)["K"][0] == "done"
    with svc.engine.connect() as conn:  # not even one that a retry hid (keys first, PostgreSQL broke one)
        assert conn.execute(sa.text(deadlocks)).scalar() == deadlocks_before
