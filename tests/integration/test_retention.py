"""Retention on PostgreSQL and SQLite: what is past its window goes, nothing unpublished or recent
does, and the auditor's per-topic counts read the same before and after."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from coinsctl.cli import main as coinsctl
from services.gifting.domain.commands import CreditPurchase
from services.gifting.service_layer import handlers
from shared.clock import utcnow
from shared.db.reads import event_counts
from shared.db.retention import RetentionError, Windows, prune
from shared.messaging.uow import run
from tests.integration.conftest import rows

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


@pytest.fixture
def auth(auth_for):
    """Tokens meant for gifting (their `aud`)."""
    return auth_for("gifting")


@pytest.fixture(params=["postgres", "sqlite"])
def gifting(request, make_service):
    return make_service("gifting", backend=request.param)


def send_gifts(svc, client, auth, n: int) -> None:
    run(handlers.credit_purchase, CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="ann", coins=n), uow=svc.uow())
    for _ in range(n):
        assert (
            client.post(
                "/v1/gifts",
                json={"sender_id": "ann", "creator_id": "cat", "gift_id": "rose"},
                headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
            ).status_code
            == 201
        )


def age(svc, sql: str, **params) -> None:
    with svc.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def add_inbox(svc, *, processed_days_ago: float, topic="purchase.completed.v1") -> None:
    with svc.engine.begin() as conn:
        conn.execute(
            svc.tables["inbox"].insert(),
            {
                "consumer": "gifting-consumer",
                "event_id": str(uuid.uuid4()),
                "topic": topic,
                "partition": 0,
                "offset": 0,
                "processed_at": utcnow() - processed_days_ago * DAY,
            },
        )


def counts(svc) -> dict:
    with svc.engine.connect() as conn:
        return event_counts(conn, svc.tables)


def test_a_prune_removes_only_what_is_past_its_window_and_the_counts_stay(gifting, auth):
    svc, client = gifting
    send_gifts(svc, client, auth, 5)
    with svc.engine.connect() as conn:
        ids = [row.id for row in conn.execute(sa.text("SELECT id FROM outbox ORDER BY id"))]
    old = utcnow() - 10 * DAY
    # ids[0..1]: published 10 days ago; ids[2]: published just now; ids[3..4]: old but never published
    age(svc, "UPDATE outbox SET published_at = :t, created_at = :t WHERE id IN (:a, :b)", t=old, a=ids[0], b=ids[1])
    age(svc, "UPDATE outbox SET published_at = :t WHERE id = :a", t=utcnow(), a=ids[2])
    age(svc, "UPDATE outbox SET created_at = :t WHERE id IN (:a, :b)", t=old, a=ids[3], b=ids[4])
    for days in (100, 100, 100, 1):  # the inbox window: 90 days, as long as dead letters are kept
        add_inbox(svc, processed_days_ago=days)
    age(
        svc,
        "UPDATE idempotency_keys SET created_at = :t, lease_until = :t, completed_at = :t "
        "WHERE key IN (SELECT key FROM idempotency_keys ORDER BY key LIMIT 3)",
        t=utcnow() - 4 * DAY,
    )
    age(
        svc,
        "UPDATE idempotency_keys SET state = 'in_flight', lease_until = :later "
        "WHERE key = (SELECT min(key) FROM idempotency_keys)",
        later=utcnow() + DAY,
    )  # a live claim stays
    before = counts(svc)

    pruned = prune(svc.engine, svc.tables, Windows(), batch_size=2)  # batches smaller than the work

    assert (pruned.outbox, pruned.inbox, pruned.idempotency_keys) == (2, 3, 2)
    with svc.engine.connect() as conn:
        left = conn.execute(sa.text("SELECT id, published_at FROM outbox ORDER BY id")).all()
    assert [r.id for r in left] == ids[2:] and [r.published_at is None for r in left] == [False, True, True]
    assert rows(svc, "inbox") == 1 and rows(svc, "idempotency_keys") == 3
    assert (
        counts(svc)
        == before
        == {
            "events_written": {"gift.sent.v1": 5},
            "events_published": {"gift.sent.v1": 3},
            "events_applied": {"purchase.completed.v1": 4},
        }
    )
    assert prune(svc.engine, svc.tables, Windows()) == type(pruned)(0, 0, 0)
    assert counts(svc) == before


def test_an_event_republished_while_being_pruned_is_kept(gifting, auth):
    svc, client = gifting
    send_gifts(svc, client, auth, 1)
    age(svc, "UPDATE outbox SET published_at = NULL, created_at = :t", t=utcnow() - 10 * DAY)
    assert prune(svc.engine, svc.tables, Windows()).outbox == 0
    assert rows(svc, "outbox") == 1


def test_an_event_republished_lately_goes_by_when_it_was_written(gifting, auth):
    """However often `outbox republish` sends a row again, it goes once its window after it was
    written has passed: the last copy a consumer can meet is bounded (inbox >= outbox + topics)."""
    svc, client = gifting
    send_gifts(svc, client, auth, 1)
    age(svc, "UPDATE outbox SET published_at = :now, created_at = :t", now=utcnow(), t=utcnow() - 10 * DAY)
    assert prune(svc.engine, svc.tables, Windows()).outbox == 1


def test_windows_that_would_break_a_guarantee_are_refused():
    with pytest.raises(RetentionError, match="idempotency key window"):
        Windows(idempotency_keys=timedelta(hours=23))
    with pytest.raises(RetentionError, match="inbox window"):
        Windows(outbox=timedelta(days=30), inbox=timedelta(days=14))
    with pytest.raises(RetentionError, match="inbox window"):
        Windows(outbox=timedelta(0), inbox=timedelta(hours=2))


def test_coinsctl_prune_reads_its_windows_from_options_and_refuses_a_short_key_window(make_service, auth):
    svc, client = make_service("gifting")
    send_gifts(svc, client, auth, 2)
    age(svc, "UPDATE outbox SET published_at = :t, created_at = :t", t=utcnow() - 2 * DAY)
    env = {"GIFTING_DATABASE_URL": svc.engine.url.render_as_string(hide_password=False)}
    refused = CliRunner().invoke(coinsctl, ["prune", "gifting", "--key-hours", "12"], env=env)
    assert refused.exit_code == 2 and "at least 24 hours" in refused.output
    done = CliRunner().invoke(coinsctl, ["prune", "gifting", "--outbox-hours", "24"], env=env)
    assert done.exit_code == 0, done.output
    assert '"outbox_rows": 2' in done.output and rows(svc, "outbox") == 0
    assert counts(svc)["events_written"] == {"gift.sent.v1": 2}


def test_outbox_republish_is_refused_under_cdc_and_otherwise_resends_what_was_published_since(gifting, auth):
    """Under CDC the relay stands aside and Debezium streams inserts only: rows marked again would
    be reported queued, sent by no one, and marked published by the next `cdc-mark`. Without CDC,
    what was written or published since `--since` is sent again."""
    svc, client = gifting
    send_gifts(svc, client, auth, 1)
    # Written two days ago, published (by a relay that lagged) after `since`: in the lost data too.
    age(svc, "UPDATE outbox SET published_at = :now, created_at = :t", now=utcnow(), t=utcnow() - 2 * DAY)
    env = {"GIFTING_DATABASE_URL": svc.engine.url.render_as_string(hide_password=False)}
    with svc.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO outbox_cdc (slot, switched_at) VALUES ('coins_gifting', :t)"), {"t": utcnow()}
        )
    since = (utcnow() - DAY).strftime("%Y-%m-%dT%H:%M:%S")
    refused = CliRunner().invoke(coinsctl, ["outbox", "republish", "gifting", "--since", since], env=env)
    assert refused.exit_code == 1 and "cdc-off gifting" in refused.output, refused.output
    with svc.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar() == 0
        conn.execute(sa.text("DELETE FROM outbox_cdc"))
    done = CliRunner().invoke(coinsctl, ["outbox", "republish", "gifting", "--since", since], env=env)
    assert done.exit_code == 0 and "1 events queued" in done.output, done.output


def test_a_key_is_kept_for_its_window_after_its_answer_not_after_it_was_made(gifting, auth):
    """A gift refused for want of coins leaves its key open for the same request; the client
    retries with that key four days later, after a purchase, and the gift is made. A prune right
    after keeps the key: the client's next retry (its answer lost) is replayed, not spent again."""
    svc, client = gifting
    key, gift = str(uuid.uuid4()), {"sender_id": "ann", "creator_id": "cat", "gift_id": "rose"}
    refused = client.post("/v1/gifts", json=gift, headers=auth(**{"Idempotency-Key": key}))
    assert refused.status_code == 409 and rows(svc, "idempotency_keys") == 1, refused.json
    with svc.engine.begin() as conn:  # that was four days ago
        conn.execute(
            sa.text("UPDATE idempotency_keys SET created_at = :t, lease_until = :t"), {"t": utcnow() - 4 * DAY}
        )
    run(handlers.credit_purchase, CreditPurchase(purchase_id=str(uuid.uuid4()), user_id="ann", coins=10), uow=svc.uow())
    assert client.post("/v1/gifts", json=gift, headers=auth(**{"Idempotency-Key": key})).status_code == 201

    assert prune(svc.engine, svc.tables, Windows()).idempotency_keys == 0

    again = client.post("/v1/gifts", json=gift, headers=auth(**{"Idempotency-Key": key}))
    assert again.headers.get("Idempotent-Replayed") == "true", (again.status_code, again.json)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT balance_coins FROM wallets WHERE user_id = 'ann'")).scalar() == 9


@pytest.mark.parametrize("table", ["inbox", "idempotency_keys"])
def test_a_prune_finds_what_is_due_through_an_index_not_by_reading_the_table(make_service, table):
    """20,000 rows, none due: the prune's DELETE (as it runs, EXPLAIN ANALYZE on PostgreSQL)
    throws away almost none of them; without an index it reads them all, batch after batch."""
    svc, _client = make_service("gifting", backend="postgres")
    now = utcnow()
    if table == "inbox":
        made = [
            {"consumer": "c", "event_id": str(uuid.uuid4()), "topic": "purchase.completed.v1", "partition": 0}
            | {"offset": i, "processed_at": now}
            for i in range(20_000)
        ]
    else:
        made = [
            {"caller": "gateway", "key": str(uuid.uuid4()), "request_hash": "h", "state": "done"}
            | {"lease_until": now, "created_at": now, "completed_at": now}
            for _ in range(20_000)
        ]
    with svc.engine.begin() as conn:
        conn.execute(svc.tables[table].insert(), made)
        conn.execute(sa.text(f"ANALYZE {table}"))
    deletes = []

    def capture(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(f"DELETE FROM {table.upper()}"):
            deletes.append((statement, params))

    sa.event.listen(svc.engine, "before_cursor_execute", capture)
    try:
        assert getattr(prune(svc.engine, svc.tables, Windows()), table) == 0
    finally:
        sa.event.remove(svc.engine, "before_cursor_execute", capture)
    [(statement, params)] = deletes
    assert _rows_thrown_away(svc, statement, params) < 1000


def _rows_thrown_away(svc, statement: str, params) -> int:
    """Rows the statement's scans read and filtered out (EXPLAIN ANALYZE, rolled back)."""
    with svc.engine.connect() as conn:
        tx = conn.begin()
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        plan = cursor.fetchone()[0]
        tx.rollback()

    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    return sum(node.get("Rows Removed by Filter", 0) for node in nodes(plan[0]["Plan"]))
