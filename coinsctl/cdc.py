"""The CDC path: Debezium's PostgreSQL connector and its outbox event router on Kafka Connect
(distributed mode) publish a service's outbox instead of its relay, for scale past one relay.

Same outbox table, same topics, keys and headers (`event_id`, `type`, `traceparent`, `tracestate`,
`trace_id`: the relay's, shared.messaging.relay.message_headers; for a NULL column Debezium writes
the header without a value where the relay leaves it out, and Debezium adds headers of its own),
same payload bytes: consumers are unchanged. The switch between the two:

- `to_cdc`: marks the outbox as CDC's (`outbox_cdc`: the relay's fetch returns nothing from that
  commit on), waits for the relay's advisory lock (no relay mid-batch), creates the replication
  slot with an exported snapshot, publishes (as the relay would) the rows still unpublished in that
  snapshot, then registers the connector on the slot (`snapshot.mode=no_data`). What committed
  before the slot's start is the relay's, what committed after is Debezium's: no event is lost
  (one is sent twice only if a send's answer is lost, as with the relay alone). A `cdc-off` while
  it waits calls it off: it drops what it made.
- `mark_streamed`: marks published what the slot has confirmed (a REPEATABLE READ snapshot taken
  at LSN M is marked once the slot's confirmed_flush_lsn passes M), so retention prunes it as it
  prunes the relay's rows (`coinsctl outbox cdc-mark`, on a schedule under CDC).
- `to_relay`: marks what was confirmed, removes the connector and the slot, then the switch row:
  the relay sends every row not marked, including those Debezium sent after the last confirmed
  mark: re-deliveries, which the consumers' inboxes absorb (at least once, never lost).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import click
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from coinsctl.connect_worker import ConnectRest, wait
from shared.clock import utcnow
from shared.db.engines import make_engine
from shared.messaging.relay import OutboxRelay, OutboxRow
from shared.messaging.relay_wakeup import CDC_CHANNEL, libpq_url, relay_lock_key

log = logging.getLogger(__name__)

# Inserts only, into the outbox and the heartbeat's table: Debezium never sees updates or deletes.
PUBLICATION = "coins_outbox"


def slot_name(database_url: str) -> str:
    """The slot of a database's outbox (slots are the cluster's: named after the database)."""
    name = "".join(c if c.isalnum() else "_" for c in (make_url(database_url).database or "").lower())
    return f"outbox_{name}"[:63]


def connector_config(service: str, database_url: str, *, user: str, password: str = "", topic_prefix: str = "") -> dict:
    """Debezium's PostgreSQL connector on the service's outbox, with the outbox event router."""
    url = make_url(database_url)
    headers = ("event_id:header:event_id", "event_type:header:type") + tuple(
        f"{name}:header:{name}" for name in ("traceparent", "tracestate", "trace_id")
    )
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",  # one slot, one task: a second service's outbox is a second connector
        "plugin.name": "pgoutput",
        "database.hostname": url.host or "127.0.0.1",
        "database.port": str(url.port or 5432),
        "database.user": user,
        "database.password": password,
        "database.dbname": url.database,
        "topic.prefix": f"coins_{service}",
        "table.include.list": "public.outbox,public.outbox_cdc_beat",
        "slot.name": slot_name(database_url),
        "publication.name": PUBLICATION,
        "publication.autocreate.mode": "disabled",
        "snapshot.mode": "no_data",  # from the slot's start: what came before was the relay's
        "tombstones.on.delete": "false",
        # Heartbeats commit the stream's position while the outbox is idle: the slot's confirmed
        # LSN moves on (WAL is freed, and `mark_streamed` finds it past its mark).
        "heartbeat.interval.ms": "1000",
        # How long the connector waits for changes before it hands over a batch, and between reads
        # of an idle slot: Debezium's 500 ms default is most of a gift's way to the diamonds.
        "poll.interval.ms": "10",
        "heartbeat.action.query": "INSERT INTO outbox_cdc_beat (beat_at) VALUES (now())",
        "topic.heartbeat.prefix": f"{topic_prefix}connect-heartbeat",
        "topic.creation.default.replication.factor": "1",
        "topic.creation.default.partitions": "1",
        # The router takes the outbox's inserts; the beats' are dropped.
        "predicates": "outbox,beat",
        "predicates.outbox.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.outbox.pattern": rf"coins_{service}\.public\.outbox",
        "predicates.beat.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.beat.pattern": rf"coins_{service}\.public\.outbox_cdc_beat",
        "transforms": "beat,outbox",
        "transforms.beat.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.beat.predicate": "beat",
        "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
        "transforms.outbox.predicate": "outbox",
        "transforms.outbox.table.field.event.id": "event_id",
        "transforms.outbox.table.field.event.key": "message_key",
        "transforms.outbox.table.field.event.payload": "payload",
        "transforms.outbox.route.by.field": "topic",
        "transforms.outbox.route.topic.replacement": topic_prefix + "${routedByValue}",
        "transforms.outbox.table.fields.additional.placement": ",".join(headers),
        "transforms.outbox.table.expand.json.payload": "false",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
    }


# -- The switch ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Switched:
    slot: str
    start_lsn: str
    published_by_switch: int  # unpublished rows before the slot's start, sent by the switch itself


def prepare(database_url: str, cdc_user: str) -> None:
    """The publication (outbox inserts only) and the read the connector's role needs (it has the
    REPLICATION attribute: a cluster-level grant, made by whoever creates the role)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_publication WHERE pubname = :p"), {"p": PUBLICATION}).first():
                conn.execute(
                    sa.text(
                        f"CREATE PUBLICATION {PUBLICATION} FOR TABLE outbox, outbox_cdc_beat WITH (publish = 'insert')"
                    )
                )
            conn.execute(sa.text(f'GRANT SELECT ON outbox, outbox_cdc_beat TO "{cdc_user}"'))
            conn.execute(sa.text(f'GRANT INSERT ON outbox_cdc_beat TO "{cdc_user}"'))
            conn.execute(sa.text(f'GRANT USAGE ON SEQUENCE outbox_cdc_beat_id_seq TO "{cdc_user}"'))
    finally:
        engine.dispose()


def to_cdc(
    service: str,
    database_url: str,
    outbox: sa.Table,
    producer,
    topic_name,
    *,
    rest: ConnectRest | None = None,
    connector: dict | None = None,
    lock_timeout_s: float = 120.0,
) -> Switched:
    """Move the service's outbox from its relay to Debezium without loss (module doc)."""
    slot = slot_name(database_url)
    engine = make_engine(database_url, pool_size=2)
    try:
        with engine.begin() as conn:
            switched = conn.execute(
                sa.text("INSERT INTO outbox_cdc (slot, switched_at) VALUES (:s, :t) ON CONFLICT (slot) DO NOTHING"),
                {"s": slot, "t": utcnow()},
            ).rowcount
            conn.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": CDC_CHANNEL})  # relays read it at once
        if not switched:
            raise click.ClickException(f"{service}: its outbox is on CDC already (slot {slot}); `outbox cdc-off` first")
        name = f"coins-outbox-{service}"
        try:
            start_lsn, sent = _take_over(service, engine, slot, outbox, producer, topic_name, lock_timeout_s)
            if rest is not None and connector is not None:
                rest.put_connector(name, connector)
        except BaseException:
            # A switch that fails half way must not leave the relays standing aside with no one
            # publishing: the relay takes the outbox back (what was sent meanwhile it may send
            # again: at least once, the inboxes absorb it), and the slot made for it is dropped,
            # the connector first (a registration whose answer was lost may have landed, and
            # would hold the slot).
            if rest is not None and connector is not None:
                _remove_connector(rest, name)
            _undo_switch(engine, slot)
            raise
        return Switched(slot, start_lsn, sent)
    finally:
        engine.dispose()


def _take_over(service, engine, slot, outbox, producer, topic_name, lock_timeout_s) -> tuple[str, int]:
    """Once the relays stand aside: the slot, and the rows before its start sent as the relay would
    (their transactions are not in the slot); returns the slot's start and how many were sent."""
    libpq = libpq_url(engine)
    with psycopg.connect(libpq, autocommit=True, connect_timeout=10) as lock:
        # A relay mid-batch holds it until its batch is marked; then its fetch sees the switch.
        lock.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
        lock.execute("SELECT pg_advisory_lock(%s)", (relay_lock_key(outbox.name),))
        _still_switching(engine, slot)  # `cdc-off` while this waited: the relay publishes, no slot
        start_lsn, rows = _slot_with_snapshot(libpq, slot, outbox)
        relay = OutboxRelay(engine=engine, table=outbox, producer=producer, topic_name=topic_name, service=service)
        pending = rows
        deadline = time.monotonic() + 120
        while pending:  # as the relay would: send, then mark what was acknowledged
            sent = relay.publish(pending)
            pending = pending[sent:]
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} events before the slot's start not acknowledged")
        relay.close()
        with engine.begin() as conn:
            started = sa.text("UPDATE outbox_cdc SET start_lsn = :l WHERE slot = :s")
            if conn.execute(started, {"l": start_lsn, "s": slot}).rowcount != 1:
                raise _called_off(slot)  # its row is gone
    return start_lsn, len(rows)


def _still_switching(engine, slot: str) -> None:
    """Raise unless the switch's row is still there (`cdc-off` deletes it: the switch is called off,
    and the caller undoes what it made, the slot first)."""
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT 1 FROM outbox_cdc WHERE slot = :s"), {"s": slot}).first()
    if found is None:
        raise _called_off(slot)


def _called_off(slot: str) -> click.ClickException:
    return click.ClickException(f"the switch to CDC (slot {slot}) was called off meanwhile (`outbox cdc-off`)")


def _remove_connector(rest: ConnectRest, name: str) -> None:
    try:
        rest.delete_connector(name)
    except Exception:  # noqa: BLE001 - the switch's own failure is the one to report
        log.exception(f"undoing a failed switch to CDC: connector {name} may be left (`coinsctl outbox cdc-off`)")


def _undo_switch(engine, slot: str) -> None:
    """The outbox back to the relay after a switch that failed; never raises over that failure."""
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM outbox_cdc WHERE slot = :s"), {"s": slot})
            conn.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": CDC_CHANNEL})  # the relay resumes at once
        active = sa.text("SELECT active FROM pg_replication_slots WHERE slot_name = :s")
        with engine.connect() as conn:  # a session that used the slot lets go of it a moment after it ends
            wait(lambda: not conn.execute(active, {"s": slot}).scalar(), 30, f"slot {slot} still in use")
        with engine.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :s"),
                {"s": slot},
            )
    except Exception:  # noqa: BLE001 - the switch's own failure is the one to report
        # A slot left behind holds WAL until the disk fills: say so, loudly.
        log.exception(f"undoing a failed switch to CDC left slot {slot}: drop it (`coinsctl outbox cdc-off`)")


def _slot_with_snapshot(libpq: str, slot: str, outbox: sa.Table) -> tuple[str, list[OutboxRow]]:
    """Create the slot, and read the unpublished rows in the snapshot of its start: exactly the rows
    whose transactions the slot will not stream."""
    columns = "id, event_id, topic, message_key, payload, trace_id, traceparent, tracestate"
    with psycopg.connect(libpq, replication="database", autocommit=True, connect_timeout=10) as repl:
        # The replication protocol takes simple queries only: libpq's exec, not psycopg's execute.
        result = repl.pgconn.exec_(f"CREATE_REPLICATION_SLOT {slot} LOGICAL pgoutput (SNAPSHOT 'export')".encode())
        if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
            raise RuntimeError(f"slot {slot} not created: {result.error_message.decode(errors='replace')}")
        start_lsn, snapshot = result.get_value(0, 1).decode(), result.get_value(0, 2).decode()
        with psycopg.connect(libpq, connect_timeout=10) as reader:
            reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            reader.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            found = reader.execute(
                f"SELECT {columns} FROM {outbox.name} WHERE published_at IS NULL ORDER BY id"  # noqa: S608
            ).fetchall()
            reader.execute("COMMIT")
    return start_lsn, [OutboxRow(*row) for row in found]


def mark_streamed(database_url: str, service: str, *, timeout_s: float = 30.0) -> int | None:
    """Mark published the rows the slot has confirmed (module doc); None when it did not confirm
    within `timeout_s` (an idle outbox: the next run marks them)."""
    slot = slot_name(database_url)
    engine = make_engine(database_url, pool_size=2)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # The snapshot is the first statement's: every row it sees committed before `mark`.
                mark = conn.execute(sa.text("SELECT pg_current_wal_insert_lsn()::text")).scalar()
                deadline = time.monotonic() + timeout_s
                confirmed = sa.text(
                    "SELECT confirmed_flush_lsn >= CAST(:m AS pg_lsn) FROM pg_replication_slots WHERE slot_name = :s"
                )
                while not conn.execute(confirmed, {"m": mark, "s": slot}).scalar():
                    if time.monotonic() > deadline:
                        return None
                    time.sleep(0.2)
                marked = conn.execute(
                    sa.text("UPDATE outbox SET published_at = :t WHERE published_at IS NULL"), {"t": utcnow()}
                ).rowcount
                conn.execute(sa.text("DELETE FROM outbox_cdc_beat"))  # streamed: only the slot needed them
                return marked
    finally:
        engine.dispose()


def to_relay(service: str, database_url: str, *, rest: ConnectRest | None = None, mark_timeout_s: float = 30.0) -> int:
    """Move the outbox back to the relay (at least once: module doc). Returns the rows marked."""
    marked = mark_streamed(database_url, service, timeout_s=mark_timeout_s) or 0
    if rest is not None:
        rest.delete_connector(f"coins-outbox-{service}")
    slot = slot_name(database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        active = sa.text("SELECT active FROM pg_replication_slots WHERE slot_name = :s")
        with engine.connect() as conn:  # the connector's session ends a moment after it is removed
            wait(lambda: not conn.execute(active, {"s": slot}).scalar(), 60, f"slot {slot} still in use")
        with engine.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :s"),
                {"s": slot},
            )
            conn.execute(sa.text("DELETE FROM outbox_cdc WHERE slot = :s"), {"s": slot})
            conn.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": CDC_CHANNEL})  # the relay resumes at once
    finally:
        engine.dispose()
    return marked
