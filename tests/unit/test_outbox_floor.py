"""On PostgreSQL the relay polls from the highest id it published a while ago (shared.messaging.relay;
not over every dead index entry of rows published since the last VACUUM); a row that becomes
visible below that later is found by a poll from the start, made every `full_scan_s`. On SQLite,
which reuses the ids of rows pruned from an empty table, every poll starts from the beginning and a
row is marked only while it is still the event that was sent."""

import time

import sqlalchemy as sa

from shared.messaging.relay import OutboxRelay, PollFloor
from tests.support.producers import AcksTheFirst


def outbox(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/outbox.db")
    table = sa.Table(
        "outbox",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        *(
            sa.Column(c, sa.String)
            for c in ("event_id", "topic", "message_key", "payload", "trace_id", "traceparent", "tracestate")
        ),
        sa.Column("published_at", sa.DateTime),
    )
    table.metadata.create_all(engine)

    def add(*ids):
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                [
                    {
                        "id": i,
                        "event_id": f"e{i}",
                        "topic": "gift.sent.v1",
                        "message_key": "k",
                        "payload": "{}",
                        "trace_id": None,
                    }
                    for i in ids
                ],
            )

    return engine, table, add


def relay(engine, table, **timing):
    return OutboxRelay(engine=engine, table=table, producer=AcksTheFirst(), topic_name=str, service="test", **timing)


def test_a_poll_starts_after_what_was_published_a_lookback_ago_and_a_full_scan_finds_late_rows():
    floor = PollFloor(lookback_s=0, full_scan_s=0.3)
    assert floor.for_poll(time.monotonic()) == 0  # the first poll starts from the beginning
    floor.found(time.monotonic(), 2)
    floor.published(5)  # 2-5 published; then 1 commits late (a transaction that held its id)
    now = time.monotonic()
    assert floor.for_poll(now) == 5  # from above 5: the late row is not seen yet
    floor.found(now, 6)
    floor.published(6)
    time.sleep(0.35)
    now = time.monotonic()
    assert floor.for_poll(now) == 0  # the periodic poll from the start finds it
    floor.found(now, 1)
    assert floor.for_poll(time.monotonic()) == 0  # and polls from the start until it is published
    floor.published(1)
    now = time.monotonic()
    assert floor.for_poll(now) == 0
    floor.found(now, None)
    assert floor.for_poll(time.monotonic()) == 6  # nothing was below the floor: the next full scan waits again


def test_rows_published_within_the_lookback_do_not_move_the_floor():
    floor = PollFloor(lookback_s=60, full_scan_s=3600)
    floor.found(time.monotonic(), 2)
    floor.published(3)
    assert floor.for_poll(time.monotonic()) == 0  # 1, visible a moment after 2 and 3: still found


def test_on_sqlite_every_poll_starts_from_the_beginning(tmp_path):
    """SQLite leaves no dead index entries to step over, and gives the ids of rows pruned from an
    empty table again: a floor would pass over a key's first new events and publish its later
    ones first."""
    engine, table, add = outbox(tmp_path)
    r = relay(engine, table, lookback_s=0, full_scan_s=3600)
    add(2, 3, 4, 5)
    assert r.publish(r.fetch_batch()) == 4
    with engine.begin() as conn:
        conn.execute(table.delete())  # retention emptied the outbox
    add(1, 2, 3)  # the next events reuse the ids
    assert [row.id for row in r.fetch_batch()] == [1, 2, 3]


def test_a_late_mark_by_another_relay_does_not_mark_a_new_row_that_reused_the_id(tmp_path):
    """Two relays on SQLite: A fetched e1 and is sending it; B sends and marks it; retention
    deletes it; a new event gets id 1. A's mark must not make the new event published, unsent."""
    engine, table, add = outbox(tmp_path)
    a, b = relay(engine, table), relay(engine, table)
    add(1)
    in_flight = a.fetch_batch()
    assert b.publish(b.fetch_batch()) == 1
    with engine.begin() as conn:
        conn.execute(table.delete())
        conn.execute(table.insert(), {"id": 1, "event_id": "new", "topic": "gift.sent.v1", "message_key": "k"})
    assert a.publish(in_flight) == 1
    assert [row.event_id for row in b.fetch_batch()] == ["new"]  # still waiting for a relay


def test_the_after_ack_fault_point_is_reached_only_once_the_broker_acknowledged_something(tmp_path, monkeypatch):
    """The fault suite kills the relay there to prove a re-sent event is absorbed: a batch that
    no broker acknowledged (a relay just started, a broker just back) must not stand in for it."""
    from shared import faults

    reached = []
    monkeypatch.setattr(faults, "point", lambda name, key=None: reached.append(name))
    engine, table, add = outbox(tmp_path)
    add(1, 2)
    none_acked = OutboxRelay(engine=engine, table=table, producer=AcksTheFirst(0), topic_name=str, service="test")
    assert none_acked.publish(none_acked.fetch_batch()) == 0
    assert "relay.after_ack" not in reached
    one_acked = OutboxRelay(engine=engine, table=table, producer=AcksTheFirst(1), topic_name=str, service="test")
    assert one_acked.publish(one_acked.fetch_batch()) == 1
    assert "relay.after_ack" in reached
