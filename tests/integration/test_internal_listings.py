"""The ops-only listings the auditor reads (GET /v1/internal/...): every row once, in id order,
paged by cursor; the rules each service prices by; nobody but `ops` may read them."""

from __future__ import annotations

import uuid

import pytest

from services.gifting.domain.commands import CreditPurchase
from services.gifting.service_layer import handlers as gifting_handlers
from services.payout.entrypoints.payout_worker import run_once
from shared.messaging.uow import run
from tests.integration.test_payout_api import earn, register, withdraw
from tests.integration.test_purchase_api import key, order

pytestmark = pytest.mark.integration


def read_all(client, path: str, items: str, headers: dict, limit: int, **query) -> tuple[list[dict], list[dict]]:
    """Every row of a listing (with these `query` parameters), page by page; and the pages."""
    pages, cursor = [], None
    while True:
        response = client.get(
            path, query_string={"limit": limit, **query, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return [row for page in pages for row in page[items]], pages


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_purchases_are_listed_to_ops_with_their_chargebacks(make_service, auth_for, backend):
    svc, client = make_service("purchase", backend=backend)
    auth = auth_for("purchase")
    bought = [
        client.post("/v1/purchases", json=order(user_id=f"viewer-{n}"), headers=auth(**key())).get_json()
        for n in range(5)
    ]
    charged_back = bought[2]["purchase_id"]
    body = {"purchase_id": charged_back, "reason": "fraudulent"}
    assert client.post("/v1/chargebacks", json=body, headers=auth("processor", **key())).status_code in (201, 202)

    assert client.get("/v1/internal/purchases", headers=auth("gateway")).status_code == 403
    rows, pages = read_all(client, "/v1/internal/purchases", "purchases", auth("ops"), limit=2)
    assert len(pages) == 3
    assert [r["purchase_id"] for r in rows] == sorted(p["purchase_id"] for p in bought)
    by_id = {r["purchase_id"]: r for r in rows}
    assert {k: by_id[charged_back][k] for k in ("coins", "amount_minor", "currency", "chargeback_coins")} == {
        "coins": 700,
        "amount_minor": 999,
        "currency": "USD",
        "chargeback_coins": 700,
    }
    assert by_id[charged_back]["chargeback_id"] and by_id[bought[0]["purchase_id"]]["chargeback_id"] is None
    bad = client.get("/v1/internal/purchases?limit=0", headers=auth("ops"))
    assert bad.status_code == 422 and "limit" in bad.get_json()["errors"]


def test_withdrawals_and_accounts_are_listed_to_ops_with_the_rules_in_force(make_service, auth_for):
    svc, client = make_service("payout", PAYOUT_FEE_PAYPAL_FIXED_MINOR="30")
    auth = auth_for("payout")
    for creator in ("ann", "bob"):
        register(client, auth, creator_id=creator, method="paypal", account=f"{creator}@example.com")
        earn(svc, creator, 60_000)
        for _ in range(2):
            assert withdraw(client, auth, 10_000, creator_id=creator).status_code == 201
    run_once(svc)

    assert client.get("/v1/internal/withdrawals", headers=auth("gateway")).status_code == 403
    rows, pages = read_all(client, "/v1/internal/withdrawals", "withdrawals", auth("ops"), limit=3)
    assert (
        len(rows) == 4
        and len(pages) == 2
        and [r["withdrawal_id"] for r in rows] == sorted(r["withdrawal_id"] for r in rows)
    )
    assert {(r["diamonds"], r["gross_minor"], r["fee_minor"], r["net_minor"], r["payout_method"]) for r in rows} == {
        (20_000, 10_000, 230, 9_770, "paypal")
    }
    assert pages[0]["rules"] == {
        "min_withdrawal_minor": 10_000,
        "diamonds_per_usd": 200,
        "fees": {"bank": {"basis_points": 0, "fixed_minor": 0}, "paypal": {"basis_points": 200, "fixed_minor": 30}},
    }
    credits, _ = read_all(client, "/v1/internal/earnings", "earnings", auth("ops"), limit=1)
    assert sorted((e["creator_id"], e["diamonds"]) for e in credits) == [("ann", 60_000), ("bob", 60_000)]
    accounts, _ = read_all(client, "/v1/internal/accounts", "accounts", auth("ops"), limit=1)
    assert [
        (a["creator_id"], a["credited_diamonds"], a["reserved_diamonds"] + a["withdrawn_diamonds"]) for a in accounts
    ] == [
        ("ann", 60_000, 40_000),
        ("bob", 60_000, 40_000),
    ]
    by_creator = {r["withdrawal_id"]: r["creator_id"] for r in rows}
    for a in accounts:  # each with its own withdrawals, read in the same snapshot
        assert sorted(w["withdrawal_id"] for w in a["withdrawals"]) == sorted(
            wid for wid, creator in by_creator.items() if creator == a["creator_id"]
        )
        assert sum(w["diamonds"] for w in a["withdrawals"] if w["status"] == "completed") == a["withdrawn_diamonds"]


def test_gifts_are_listed_to_ops_with_the_diamonds_per_coin(make_service, auth_for):
    svc, client = make_service("gifting", GIFTING_DIAMONDS_PER_COIN="2")
    auth = auth_for("gifting")
    run(
        gifting_handlers.credit_purchase,
        CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="viewer", coins=100),
        uow=svc.uow(),
    )
    for _ in range(3):
        sent = client.post(
            "/v1/gifts",
            json={"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose", "quantity": 5},
            headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
        )
        assert sent.status_code == 201, sent.get_json()
    assert client.get("/v1/internal/gifts", headers=auth("gateway")).status_code == 403
    rows, pages = read_all(client, "/v1/internal/gifts", "gifts", auth("ops"), limit=2)
    assert [(r["total_coins"], r["diamonds"]) for r in rows] == [(5, 10)] * 3
    assert pages[0]["rules"] == {"diamonds_per_coin": 2}


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_purchases_credits_and_clawbacks_are_listed_to_ops_by_kind(make_service, auth_for, backend):
    """Gifting's side of the purchase flows, for the auditor's item check: each purchase's coins
    credited (by purchase id) and each chargeback's clawed back (by chargeback id), never the gifts."""
    from services.gifting.domain.commands import ClawBackPurchase

    svc, client = make_service("gifting", backend=backend)
    auth = auth_for("gifting")
    bought = sorted(str(uuid.uuid4()) for _ in range(3))
    for n, purchase_id in enumerate(bought):
        run(gifting_handlers.credit_purchase, CreditPurchase(purchase_id, f"viewer-{n}", 100 + n), uow=svc.uow())
    claw = ClawBackPurchase(purchase_id=bought[1], chargeback_id="cb-1", user_id="viewer-1", coins=101)
    run(gifting_handlers.claw_back_purchase, claw, uow=svc.uow())
    gift = {"sender_id": "viewer-0", "creator_id": "creator", "gift_id": "rose", "quantity": 5}
    assert client.post("/v1/gifts", json=gift, headers=auth(**{"Idempotency-Key": "k-1"})).status_code == 201
    path = "/v1/internal/coin-entries"
    assert client.get(path, query_string={"kind": "purchase"}, headers=auth("gateway")).status_code == 403
    refused = client.get(path, query_string={"kind": "gift"}, headers=auth("ops"))
    assert refused.status_code == 422 and "kind" in refused.get_json()["errors"]
    credits, pages = read_all(client, path, "entries", auth("ops"), limit=2, kind="purchase")
    assert credits == [{"reference": p, "user_id": f"viewer-{n}", "coins": 100 + n} for n, p in enumerate(bought)]
    assert len(pages) == 2
    clawbacks, _ = read_all(client, path, "entries", auth("ops"), limit=2, kind="chargeback")
    assert clawbacks == [{"reference": "cb-1", "user_id": "viewer-1", "coins": 101}]
