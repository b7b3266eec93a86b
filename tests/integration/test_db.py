"""shared.db helpers that only a real database can check."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.db import DriverStatement

pytestmark = pytest.mark.integration


def test_a_driver_statement_runs_its_compiled_sql_with_the_literals_it_holds(make_service):
    svc, _ = make_service("gifting", backend="postgres")
    answer = DriverStatement(sa.select(sa.bindparam("a", type_=sa.Integer) + sa.literal(40, sa.Integer),
                                       sa.literal("100%", sa.String)))
    with svc.engine.connect() as conn:
        assert tuple(answer(conn, {"a": 2}).one()) == (42, "100%")
        assert tuple(answer(conn, {"a": -40}).one()) == (0, "100%")  # compiled once, run again


def test_a_driver_statement_refuses_a_positional_driver(make_service):
    svc, _ = make_service("gifting", backend="sqlite")
    with svc.engine.connect() as conn, pytest.raises(TypeError):
        DriverStatement(sa.select(sa.bindparam("a", type_=sa.Integer)))(conn, {"a": 1})
