"""A switch of the outbox to CDC that fails half way, or is called off while it waits, gives the
outbox back to the relay (no slot, no switch row left behind); a second switch while one is on is
refused and leaves it as it is; `outbox republish` cannot cross a switch."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import click
import psycopg
import pytest
import sqlalchemy as sa

from coinsctl import cdc
from coinsctl.recovery import RepublishRefused, republish
from services.gifting.adapters.orm import tables
from shared.clock import utcnow
from shared.db.engines import make_engine
from shared.db.migrate import upgrade
from shared.messaging.relay_wakeup import libpq_url, relay_lock_key
from tests.support.events import gift_event
from tests.support.producers import AcksTheFirst
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


class RefusingConnect:
    """Kafka Connect's REST API refusing the connector (a typo in its config, Connect down)."""

    def __init__(self):
        self.deleted = []

    def put_connector(self, name: str, config: dict) -> None:
        raise RuntimeError("connector refused")

    def delete_connector(self, name: str) -> None:
        self.deleted.append(name)


class LandsUnanswered(RefusingConnect):
    """Registers the connector, and the answer is lost (Connect slow, the client's timeout)."""

    def put_connector(self, name: str, config: dict) -> None:
        raise TimeoutError("timed out")


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


def test_a_switch_whose_registration_went_unanswered_removes_the_connector_it_may_have_made(gifting_db):
    """Else a connector registered meanwhile would keep the slot (never dropped, WAL held) and
    stream beside the relay."""
    connect = LandsUnanswered()
    with pytest.raises(TimeoutError):
        cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str, rest=connect, connector={})
    assert connect.deleted == ["coins-outbox-gifting"] and switch_state(gifting_db) == (0, 0)


def test_a_second_switch_is_refused_and_leaves_the_first_as_it_is(gifting_db):
    cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str)
    assert switch_state(gifting_db) == (1, 1)
    with pytest.raises(click.ClickException, match="on CDC already"):
        cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str)
    assert switch_state(gifting_db) == (1, 1)


def in_thread(call) -> tuple[threading.Thread, dict]:
    """call() started in a thread of its own: the thread, and {"result" or "error": ...} once done."""
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_switch_called_off_while_it_waits_for_the_relay_leaves_no_slot(gifting_db):
    """`cdc-on` waits for a relay mid-batch; `cdc-off` meanwhile gives the outbox back to the relay.
    The switch then stops, and drops what it made: never a slot nobody reads (WAL kept for ever)
    beside a relay that publishes, reported as a switch."""
    engine = make_engine(gifting_db, pool_size=2)
    try:
        with psycopg.connect(libpq_url(engine), autocommit=True) as relay:  # a relay mid-batch
            relay.execute("SELECT pg_advisory_lock(%s)", (relay_lock_key("outbox"),))
            switching, outcome = in_thread(
                lambda: cdc.to_cdc("gifting", gifting_db, tables["outbox"], AcksTheFirst(), str)
            )
            deadline = time.monotonic() + 10
            while switch_state(gifting_db)[0] == 0 and time.monotonic() < deadline:  # its switch row is in: it waits
                time.sleep(0.05)
            cdc.to_relay("gifting", gifting_db, mark_timeout_s=0)  # called off
        switching.join(timeout=60)  # the relay's batch marked, its lock let go: the switch goes on
        assert isinstance(outcome.get("error"), click.ClickException), outcome
        assert "called off" in str(outcome["error"])
        assert switch_state(gifting_db) == (0, 0)
    finally:
        engine.dispose()


WAITING_ON_THE_SWITCH = sa.text(
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "WHERE c.relname = 'outbox_cdc' AND NOT l.granted"
)


def test_republish_cannot_cross_a_switch_to_cdc(gifting_db):
    """Republish checks that the relay publishes, then marks rows unpublished. A switch whose row
    lands between the two would leave them unpublished with the relay standing aside and Debezium
    streaming inserts only: reported queued, never sent (and then marked published by cdc-mark)."""
    engine = make_engine(gifting_db, pool_size=2)
    try:
        with engine.begin() as conn:  # published events, lost by the broker since
            conn.execute(
                tables["outbox"].insert(),
                [
                    {"event_id": event_id, "topic": "gift.sent.v1", "message_key": "cat", "payload": value.decode()}
                    | {"event_type": "gift.sent", "created_at": utcnow(), "published_at": utcnow()}
                    for _key, value, event_id in (gift_event("cat", 1) for _ in range(3))
                ],
            )
        with engine.connect() as switch:  # another operator's `cdc-on`: its switch row, not committed yet
            tx = switch.begin()
            switch.execute(sa.text("INSERT INTO outbox_cdc (slot, switched_at) VALUES ('s', now())"))
            republishing, outcome = in_thread(lambda: republish("gifting", gifting_db, utcnow() - timedelta(hours=1)))
            with engine.connect() as watch:  # it waits for the switch (or, unguarded, went on without)
                wait_until(
                    lambda: outcome or watch.execute(WAITING_ON_THE_SWITCH).scalar(),
                    timeout=10,
                    message="republish to wait on the switch or finish",
                )
            tx.commit()
        republishing.join(timeout=30)
        assert isinstance(outcome.get("error"), RepublishRefused), outcome
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar() == 0
    finally:
        engine.dispose()
