"""A switch of the outbox to CDC that fails half way gives the outbox back to the relay (no slot,
no switch row left behind); a second switch while one is on is refused and leaves it as it is."""

from __future__ import annotations

import click
import psycopg
import pytest
import sqlalchemy as sa

from coinsctl import cdc
from services.gifting.adapters.orm import tables
from shared.db.engines import make_engine
from shared.db.migrate import upgrade
from tests.support.producers import AcksTheFirst

pytestmark = pytest.mark.integration


class RefusingConnect:
    """Kafka Connect's REST API refusing the connector (a typo in its config, Connect down)."""

    def put_connector(self, name: str, config: dict) -> None:
        raise RuntimeError("connector refused")


@pytest.fixture
def gifting_db(pg_url):
    url = pg_url("cdcswitch")
    upgrade("gifting", url)
    cdc.prepare(url, "postgres")
    yield url
    with psycopg.connect(url, autocommit=True) as conn:  # a slot would keep its database from being dropped
        conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()"
        )


def switch_state(url: str) -> tuple[int, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM outbox_cdc")).scalar()
            slots = conn.execute(
                sa.text("SELECT count(*) FROM pg_replication_slots WHERE slot_name = :s"), {"s": cdc.slot_name(url)}
            ).scalar()
    finally:
        engine.dispose()
    return rows, slots


def test_a_switch_that_fails_half_way_gives_the_outbox_back_to_the_relay(gifting_db):
    with pytest.raises(RuntimeError, match="connector refused"):
        cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str, rest=RefusingConnect(), connector={})
    assert switch_state(gifting_db) == (0, 0)  # the relay's again: no switch row, no slot


def test_a_second_switch_is_refused_and_leaves_the_first_as_it_is(gifting_db):
    cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str)
    assert switch_state(gifting_db) == (1, 1)
    with pytest.raises(click.ClickException, match="on CDC already"):
        cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str)
    assert switch_state(gifting_db) == (1, 1)
