"""shared.db.engines helpers that only a real database can check."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.gifting.adapters.repository import DriverStatement

pytestmark = pytest.mark.integration


def test_a_driver_statement_runs_its_compiled_sql_with_the_literals_it_holds(make_service):
    svc, _ = make_service("gifting", backend="postgres")
    answer = DriverStatement(
        sa.select(sa.bindparam("a", type_=sa.Integer) + sa.literal(40, sa.Integer), sa.literal("100%", sa.String))
    )
    with svc.engine.connect() as conn:
        assert tuple(answer(conn, {"a": 2}).one()) == (42, "100%")
        assert tuple(answer(conn, {"a": -40}).one()) == (0, "100%")  # compiled once, run again


def test_a_driver_statement_refuses_a_positional_driver(make_service):
    svc, _ = make_service("gifting", backend="sqlite")
    with svc.engine.connect() as conn, pytest.raises(TypeError):
        DriverStatement(sa.select(sa.bindparam("a", type_=sa.Integer)))(conn, {"a": 1})


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_transactions_only_statement_commits_on_its_own_and_never_once_the_transaction_began(make_service, backend):
    from services.gifting.adapters.repository import own_transaction_if_first

    svc, _ = make_service("gifting", backend=backend)
    users = lambda conn: sorted(conn.execute(sa.text("SELECT user_id FROM wallets")).scalars())  # noqa: E731
    add = sa.text(
        "INSERT INTO wallets (user_id, balance_coins, debt_coins, version, updated_at) "
        "VALUES (:u, 0, 0, 0, CURRENT_TIMESTAMP)"
    )
    with svc.engine.connect() as conn:
        tx = conn.begin()
        with own_transaction_if_first(conn) as alone:
            conn.execute(add, {"u": "alone"})
        tx.rollback()
        assert alone == (backend == "postgres") and users(conn) == (["alone"] if alone else [])
        conn.rollback()
        tx = conn.begin()
        conn.execute(add, {"u": "earlier"})
        with own_transaction_if_first(conn) as alone:
            conn.execute(add, {"u": "joined"})
        tx.rollback()
        assert not alone and users(conn) == (["alone"] if backend == "postgres" else [])
        conn.rollback()


def test_set_wise_inserts_carry_any_text_null_and_timestamp_through_their_arrays(make_service):
    from shared.clock import utcnow
    from shared.db.upserts import insert_ignore_many

    svc, _ = make_service("gifting", backend="postgres")
    table, now = svc.tables["idempotency_keys"], utcnow()
    awkward = [
        "plain",
        "",
        "NULL",
        'a "quoted" word',
        "back\\slash\\",
        "{braces},commas",
        "it's",
        "ünï cödé ✓",
        " spaces ",
        "tab\tnew\nline",
    ]
    rows = [
        {
            "caller": "gateway",
            "key": text,
            "request_hash": str(i),
            "state": "done",
            "lease_until": now,
            "created_at": now,
            "response_status": 200 + i,
            "response_body": None if i % 2 else text,
        }
        for i, text in enumerate(awkward)
    ]
    with svc.engine.begin() as conn:
        assert insert_ignore_many(conn, table, rows, ["caller", "key"], returning="key") == set(awkward)
        assert insert_ignore_many(conn, table, rows[:2], ["caller", "key"], returning="key") == set()
    with svc.engine.connect() as conn:
        stored = {r.key: r for r in conn.execute(sa.select(table))}
    for i, text in enumerate(awkward):
        row = stored[text]
        assert (row.request_hash, row.response_status, row.response_body, row.created_at) == (
            str(i),
            200 + i,
            None if i % 2 else text,
            now,
        )
