"""Money stories through the real processes, ending with the conservation audit."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from importlib import import_module

import pytest
import requests

from shared.clock import utcnow
from shared.db.engines import make_engine
from shared.db.retention import Windows, prune
from shared.settings import database_url
from tests.support.stories import audit_passes as run_audit
from tests.support.stories import buy, dispute, earnings, send_gift, spendable, unique, wallet
from tests.support.stories import run_audit as run_audit_report
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_buy_gift_earn_withdraw_and_the_books_balance(api, stack, caller_keys):
    viewer, fan, creator = unique("viewer"), unique("fan"), unique("creator")
    stream = unique("stream")
    buy(api, viewer, package_id="coins_17500")
    buy(api, fan, country="JP", coins=5_000)
    spendable(api, viewer, 17_500)
    spendable(api, fan, 5_000)

    assert send_gift(api, viewer, creator, "lion").status_code == 409  # 29,999 > 17,500
    assert send_gift(api, viewer, creator, "galaxy", quantity=15, stream_id=stream).status_code == 201
    assert send_gift(api, fan, creator, "concert", quantity=9, stream_id=stream).status_code == 201
    assert send_gift(api, viewer, viewer, "rose").status_code == 422
    board = api.get("gifting", f"/v1/streams/{stream}/leaderboard").json()["leaderboard"]
    assert [(e["sender_id"], e["coins"]) for e in board] == [(viewer, 15_000), (fan, 4_500)]

    register = api.post(
        "payout",
        "/v1/creators",
        {
            "creator_id": creator,
            "country": "GB",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "bank", "account": "GB29NWBK60161331926819"},
        },
        key=None,
    )
    assert register.status_code == 201
    wait_until(lambda: earnings(api, creator)["total"] == 19_500, message="diamonds credited")
    assert earnings(api, creator)["available_value_minor"] == 9_750
    assert api.post("payout", "/v1/withdrawals", {"creator_id": creator, "amount_minor": 10_000}).status_code == 409

    buy(api, viewer, package_id="coins_7000")
    spendable(api, viewer, 2_500 + 7_000)
    assert send_gift(api, viewer, creator, "universe").status_code == 409
    assert send_gift(api, viewer, creator, "concert", quantity=18).status_code == 201  # 9,000 more diamonds
    wait_until(lambda: earnings(api, creator)["available"] == 28_500, message="more diamonds")
    withdrawal = api.post("payout", "/v1/withdrawals", {"creator_id": creator, "amount_minor": 12_000}).json()
    assert (withdrawal["diamonds"], withdrawal["gross_minor"], withdrawal["net_minor"]) == (24_000, 12_000, 12_000)
    done = wait_until(
        lambda: (
            (w := api.get("payout", f"/v1/withdrawals/{withdrawal['withdrawal_id']}").json())["status"] == "completed"
            and w
        ),
        message="payout completed",
    )
    assert done["fee_minor"] == 0
    final = earnings(api, creator)
    assert (final["total"], final["available"], final["withdrawn"]) == (28_500, 4_500, 24_000)
    run_audit(stack, caller_keys)


def test_a_chargeback_takes_coins_back_freezes_the_wallet_and_the_audit_still_balances(api, stack, caller_keys):
    viewer, creator = unique("viewer"), unique("creator")
    purchase = buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700)
    assert send_gift(api, viewer, creator, "corgi", quantity=2).status_code == 201  # 598 spent
    refund = api.post("purchase", f"/v1/purchases/{purchase['purchase_id']}/refund", {}, key=None)
    assert refund.status_code == 422
    forbidden = api.post("purchase", "/v1/chargebacks", {"purchase_id": purchase["purchase_id"], "reason": "fraud"})
    assert forbidden.status_code == 403
    # The card holder disputes the charge at the processor (its books: the auditor reads them), which
    # then notifies the purchase service.
    dispute(api, purchase["purchase_id"])
    chargeback = api.post(
        "purchase", "/v1/chargebacks", {"purchase_id": purchase["purchase_id"], "reason": "fraud"}, caller="processor"
    )
    assert chargeback.status_code == 202 and chargeback.json()["status"] == "reversed"
    frozen = wait_until(lambda: (w := wallet(api, viewer))["status"] == "frozen" and w, message="wallet frozen")
    assert frozen["balance"] == -598
    assert send_gift(api, viewer, creator, "rose").status_code == 403
    buy(api, viewer, package_id="coins_700")
    assert spendable(api, viewer, 102)["status"] == "active"
    totals = run_audit(stack, caller_keys)
    assert totals["purchase"]["coins_reversed"] >= 700


def test_the_books_balance_while_purchases_and_gifts_keep_coming(api, stack, caller_keys):
    """Traffic that never stops may leave some event in flight at every read: the audit then checks
    the flows item by item, its second read once the first read's events were applied, and the
    books balance; once the traffic stops, they balance at one read as well."""
    viewers, creator = [unique("viewer") for _ in range(6)], unique("creator")
    for viewer in viewers:
        buy(api, viewer, package_id="coins_1400")
        spendable(api, viewer, 1_400)
    stop, refused = threading.Event(), []

    def traffic(viewer: str):
        try:
            for n in range(1_400):
                if stop.is_set():
                    return
                if n % 10 == 9:
                    buy(api, unique("buyer"), package_id="coins_70")
                sent = send_gift(api, viewer, creator, "rose")
                assert sent.status_code == 201, sent.text
        except Exception as exc:  # noqa: BLE001 (the test reads what stopped the traffic)
            refused.append(repr(exc))

    senders = [threading.Thread(target=traffic, args=(viewer,), daemon=True) for viewer in viewers]
    for sender in senders:
        sender.start()
    try:
        report = run_audit_report(stack, caller_keys, wait_s=5)
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=60)
    assert refused == [] and report.ok, (refused, report.problems)
    run_audit(stack, caller_keys)


def test_a_failed_payout_returns_the_diamonds(api, stack, caller_keys):
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_17500")
    buy(api, viewer, package_id="coins_17500")
    spendable(api, viewer, 35_000)
    assert send_gift(api, viewer, creator, "galaxy", quantity=25).status_code == 201
    api.post(
        "payout",
        "/v1/creators",
        {
            "creator_id": creator,
            "country": "US",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "paypal", "account": "fail@example.com"},
        },
        key=None,
    )
    wait_until(lambda: earnings(api, creator)["available"] == 25_000, message="diamonds credited")
    withdrawal = api.post("payout", "/v1/withdrawals", {"creator_id": creator, "amount_minor": 10_000}).json()
    assert (withdrawal["diamonds"], withdrawal["fee_minor"], withdrawal["net_minor"]) == (20_000, 225, 9_775)
    failed = wait_until(
        lambda: (
            (w := api.get("payout", f"/v1/withdrawals/{withdrawal['withdrawal_id']}").json())["status"] == "failed"
            and w
        ),
        message="payout failed",
    )
    assert failed["failure_reason"]
    assert earnings(api, creator)["available"] == 25_000
    run_audit(stack, caller_keys)


def test_twenty_gifts_racing_through_gunicorn_never_overdraw(api, stack, caller_keys):
    viewer = unique("viewer")
    buy(api, viewer, package_id="coins_1400")
    spendable(api, viewer, 1_400)
    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda _: send_gift(api, viewer, unique("creator"), "concert"), range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 201] + [409] * 18, [r.text for r in responses if r.status_code not in (201, 409)]
    assert wallet(api, viewer)["balance"] == 400
    run_audit(stack, caller_keys)


def test_one_idempotency_key_fired_concurrently_has_one_effect(api, stack):
    viewer = unique("viewer")
    body = {
        "user_id": viewer,
        "country": "DE",
        "birth_date": "1990-01-01",
        "package_id": "coins_350",
        "payment": {"method": "card", "token": "tok_visa"},
    }
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: api.post("purchase", "/v1/purchases", body, key=key), range(10)))
    assert {r.status_code for r in responses} <= {201, 409}
    ids = {r.json()["purchase_id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    spendable(api, viewer, 350)
    listed = api.get("purchase", f"/v1/users/{viewer}/purchases").json()["purchases"]
    assert len(listed) == 1


def test_health_metrics_openapi_and_docs_are_served_without_a_token(stack):
    for service in ("purchase", "gifting", "payout"):
        base = stack.url(service)
        assert requests.get(f"{base}/health/live", timeout=5).status_code == 200
        ready = requests.get(f"{base}/health/ready", timeout=5).json()
        assert ready["checks"] == {"database": "ok", "broker": "ok"}
        assert requests.get(f"{base}/openapi.json", timeout=5).json()["paths"]
        docs = requests.get(f"{base}/docs", timeout=5)  # Swagger UI, its files served here too (gunicorn)
        assert docs.status_code == 200 and "Content-Security-Policy" in docs.headers
        assert requests.get(f"{base}/docs/swagger-ui-bundle.js", timeout=5).status_code == 200
        assert requests.get(f"{base}/v1/internal/totals", timeout=5).status_code == 401
    metrics = requests.get(f"{stack.url('gifting')}/metrics", timeout=5).text
    assert "coins_http_requests_total" in metrics and "coins_outbox_backlog_events" in metrics
    assert 'coins_consumer_messages_total{outcome="applied"' in metrics  # the consumer process's counters


def test_bodies_over_one_mebibyte_are_413_whether_chunked_or_not(stack, auth):
    url = f"{stack.url('gifting')}/v1/gifts"
    big = b" " * (1024 * 1024 + 10)
    for data in (big, (big[i : i + 65536] for i in range(0, len(big), 65536))):  # Content-Length, then chunked
        response = requests.post(
            url,
            data=data,
            timeout=30,
            headers=auth(
                service="gifting", **{"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
            ),
        )
        assert response.status_code == 413, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
    small = (chunk for chunk in [b'{"sender_id": "a", ', b'"creator_id": "b", "gift_id": "rose"}'])
    response = requests.post(
        url, data=small, timeout=30, headers=auth(service="gifting", **{"Idempotency-Key": str(uuid.uuid4())})
    )
    assert response.status_code == 409  # a chunked JSON body is read whole: it parsed, and the wallet is empty


def test_a_traceparent_travels_from_the_request_through_kafka_to_the_consumers_log(api, stack, auth):
    trace_id, caller_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    viewer = unique("viewer")
    response = requests.post(
        f"{stack.url('purchase')}/v1/purchases",
        timeout=30,
        json={
            "user_id": viewer,
            "country": "US",
            "birth_date": "1990-01-01",
            "package_id": "coins_70",
            "payment": {"method": "card", "token": "tok_visa"},
        },
        headers=auth(
            service="purchase",
            **{"Idempotency-Key": str(uuid.uuid4()), "traceparent": f"00-{trace_id}-{caller_span}-01"},
        ),
    )
    _, answered_trace, request_span, _ = response.headers["traceparent"].split("-")
    assert (answered_trace, response.headers["X-Trace-Id"]) == (trace_id, trace_id) and request_span != caller_span
    spendable(api, viewer, 70)
    log = stack.var_dir / "logs" / "gifting-consumer.log"
    line = wait_until(
        lambda: next((line for line in log.read_text().splitlines() if trace_id in line), None),
        message="the consumer's log line with the trace id",
    )
    assert '"event applied"' in line and "token" not in line.lower()
    assert json.loads(line)["parent_span_id"] == request_span  # the message's span: the request's


def test_no_private_key_or_bearer_token_reaches_any_log(api, stack, caller_keys):
    token = caller_keys.token("gateway", "gifting")
    requests.get(
        f"{stack.url('gifting')}/v1/wallets/someone", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )  # at least one authenticated request logged
    requests.get(
        f"{stack.url('gifting')}/v1/wallets/x", headers={"Authorization": "Bearer forged.token.here"}, timeout=10
    )
    logs = "\n".join(p.read_text(errors="replace") for p in (stack.var_dir / "logs").glob("*.log"))
    assert '"caller": "gateway"' in logs
    private = (caller_keys.private_dir / "gateway" / "gateway-test-1.pem").read_text().splitlines()[1]
    assert private not in logs and token not in logs and "forged.token.here" not in logs


def test_after_retention_prunes_everything_past_its_window_the_audit_still_passes(api, stack, caller_keys):
    # Last in this module: it prunes every service's whole history (a clock 100 days ahead: past
    # the inbox window, which outlasts the dead letters' 90 days).
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700)
    assert send_gift(api, viewer, creator, "concert").status_code == 201
    before = settled_totals(stack, caller_keys)
    pruned = {}
    for service in ("purchase", "gifting", "payout"):
        engine = make_engine(database_url(service, stack.env), pool_size=1)
        try:
            pruned[service] = prune(
                engine,
                import_module(f"services.{service}.adapters.orm").tables,
                Windows(),
                now=utcnow() + timedelta(days=100),
            )
        finally:
            engine.dispose()
    assert pruned["purchase"].outbox > 0 and pruned["gifting"].inbox > 0 and pruned["payout"].inbox > 0
    assert pruned["gifting"].idempotency_keys > 0
    after = run_audit(stack, caller_keys)
    assert after == before


def settled_totals(stack, caller_keys) -> dict:
    """The audit's totals once every written event is also marked published: the relay marks a
    batch after the broker acknowledged it, so a consumer may apply an event before its row says so."""
    return wait_until(
        lambda: (
            (totals := run_audit(stack, caller_keys))
            and all(t["events_published"] == t["events_written"] for t in totals.values())
            and totals
        ),
        message="every event marked published",
    )
