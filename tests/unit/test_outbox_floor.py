"""The relay polls from the highest id it published a while ago (shared.messaging.relay; not over every
dead index entry of rows published since the last VACUUM); a row that becomes visible below that
later is found by a poll from the start, made every `full_scan_s`."""

import time

import sqlalchemy as sa

from shared.messaging.relay import OutboxRelay
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


def test_a_poll_starts_after_what_was_published_a_lookback_ago_and_a_full_scan_finds_late_rows(tmp_path):
    engine, table, add = outbox(tmp_path)
    r = relay(engine, table, lookback_s=0, full_scan_s=0.3)
    add(2, 3, 4, 5)
    assert r.publish(r.fetch_batch()) == 4  # the first poll starts from the beginning
    add(1, 6)  # 1: a transaction that committed after 2-5 were published
    assert [row.id for row in r.fetch_batch()] == [6]  # from above 5: the late row is not seen yet
    assert r.publish(r.fetch_batch()) == 1
    time.sleep(0.35)
    assert [row.id for row in r.fetch_batch()] == [1]  # the periodic poll from the start finds it
    assert [row.id for row in r.fetch_batch()] == [1]  # and polls from the start until it is published
    assert r.publish(r.fetch_batch()) == 1
    assert r.fetch_batch() == []
    add(0)
    assert r.fetch_batch() == []  # nothing was below the floor: the next poll from the start waits again


def test_rows_published_within_the_lookback_do_not_move_the_floor(tmp_path):
    engine, table, add = outbox(tmp_path)
    r = relay(engine, table, lookback_s=60, full_scan_s=3600)
    add(2, 3)
    assert r.publish(r.fetch_batch()) == 2
    add(1)  # visible a moment after 2 and 3 were published: well within the lookback
    assert [row.id for row in r.fetch_batch()] == [1]


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
