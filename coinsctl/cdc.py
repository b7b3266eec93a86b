"""The CDC path: Debezium's PostgreSQL connector and its outbox event router on Kafka Connect
(distributed mode) publish a service's outbox instead of its relay, for scale past one relay.

Same outbox table, same topics, keys and headers (`event_id`, `type`, `traceparent`, `tracestate`,
`trace_id`: the relay's, shared.outbox_relay.message_headers), same payload bytes: consumers are
unchanged. The switch between the two:

- `to_cdc`: marks the outbox as CDC's (`outbox_cdc`: the relay's fetch returns nothing from that
  commit on), waits for the relay's advisory lock (no relay mid-batch), creates the replication
  slot with an exported snapshot, publishes (as the relay would) the rows still unpublished in that
  snapshot, then registers the connector on the slot (`snapshot.mode=no_data`). What committed
  before the slot's start is the relay's, what committed after is Debezium's: no event is lost or
  sent twice.
- `mark_streamed`: marks published what the slot has confirmed (a REPEATABLE READ snapshot taken
  at LSN M is marked once the slot's confirmed_flush_lsn passes M), so retention prunes it as it
  prunes the relay's rows (`coinsctl outbox cdc-mark`, on a schedule under CDC).
- `to_relay`: marks what was confirmed, removes the connector and the slot, then the switch row:
  the relay sends every row not marked, including those Debezium sent after the last confirmed
  mark: re-deliveries, which the consumers' inboxes absorb (at least once, never lost).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from coinsctl.broker import port_open, signal_group
from shared.clock import utcnow
from shared.db import make_engine
from shared.outbox_relay import OutboxRelay, OutboxRow
from shared.outbox_wakeup import relay_lock_key

REPO = Path(__file__).resolve().parent.parent
CONNECT_DIR = REPO / "deploy" / "connect"
# Inserts only, into the outbox and the heartbeat's table: Debezium never sees updates or deletes.
PUBLICATION = "coins_outbox"


def slot_name(database_url: str) -> str:
    """The slot of a database's outbox (slots are the cluster's: named after the database)."""
    name = "".join(c if c.isalnum() else "_" for c in (make_url(database_url).database or "").lower())
    return f"outbox_{name}"[:63]


def classpath() -> str:
    """Connect's and Debezium's jars (COINS_CONNECT_JARS, or fetched with Maven once, then cached)."""
    jars = (
        os.environ.get("COINS_CONNECT_JARS")
        or subprocess.run(
            [str(CONNECT_DIR / "fetch-jars.sh")], check=True, capture_output=True, text=True, timeout=900
        ).stdout.strip()
    )
    return f"{jars}/*"


# -- Kafka Connect's worker and the connector's configuration -----------------------------------


def worker_properties(
    *, bootstrap: str, sasl: dict[str, str] | None, rest_host: str, rest_port: int, topic_prefix: str = ""
) -> str:
    """A distributed worker: its group and internal topics under the topic prefix, strings as they
    are (keys, values and headers: the outbox's bytes reach Kafka unchanged)."""
    lines = [
        f"bootstrap.servers={bootstrap}",
        f"group.id={topic_prefix}connect-cluster",
        f"config.storage.topic={topic_prefix}connect-configs",
        f"offset.storage.topic={topic_prefix}connect-offsets",
        f"status.storage.topic={topic_prefix}connect-status",
        "config.storage.replication.factor=1",
        "offset.storage.replication.factor=1",
        "status.storage.replication.factor=1",
        "key.converter=org.apache.kafka.connect.storage.StringConverter",
        "value.converter=org.apache.kafka.connect.storage.StringConverter",
        "header.converter=org.apache.kafka.connect.storage.SimpleHeaderConverter",
        # Debezium confirms the slot's LSN when Connect commits offsets: every second.
        "offset.flush.interval.ms=1000",
        f"listeners=http://{rest_host}:{rest_port}",
        "plugin.discovery=only_scan",
    ]
    if sasl:
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{sasl["username"]}" password="{sasl["password"]}";'
        )
        for prefix in ("", "producer.", "consumer.", "admin."):
            lines += [
                f"{prefix}security.protocol={sasl['protocol']}",
                f"{prefix}sasl.mechanism={sasl['mechanism']}",
                f"{prefix}sasl.jaas.config={jaas}",
            ]
    return "\n".join(lines) + "\n"


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


class ConnectRest:
    """Kafka Connect's REST API; every call bounded."""

    def __init__(self, url: str, timeout_s: float = 10.0):
        self.url, self.timeout_s = url.rstrip("/"), timeout_s

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - an operator's URL
            text = response.read()
        return json.loads(text) if text else None

    def put_connector(self, name: str, config: dict) -> None:
        self.call("PUT", f"/connectors/{name}/config", config)

    def status(self, name: str) -> dict | None:
        try:
            return self.call("GET", f"/connectors/{name}/status")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def running(self, name: str) -> bool:
        status = self.status(name)
        return bool(
            status
            and status["connector"]["state"] == "RUNNING"
            and status["tasks"]
            and all(t["state"] == "RUNNING" for t in status["tasks"])
        )

    def delete_connector(self, name: str, timeout_s: float = 60.0) -> None:
        try:
            self.call("DELETE", f"/connectors/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        _wait(lambda: self.status(name) is None, timeout_s, f"connector {name} still there")


class ConnectWorker:
    """One Kafka Connect worker (distributed mode) run from the jars: what the tests start; compose
    and Kubernetes run the same command (deploy/compose.cdc.yaml, deploy/k8s/cdc)."""

    def __init__(self, home: Path, properties: str, rest_port: int, heap: str = "384m"):
        self.home, self.rest_port, self.heap = home, rest_port, heap
        self.home.mkdir(parents=True, exist_ok=True)
        self.props = self.home / "connect-distributed.properties"
        fd = os.open(self.props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds a password
        with os.fdopen(fd, "w") as out:
            out.write(properties)
        self.log_path = self.home / "connect.log"
        self.proc: subprocess.Popen | None = None
        self.rest = ConnectRest(f"http://127.0.0.1:{rest_port}")

    def start(self, timeout_s: float = 180.0) -> None:
        command = [
            "java",
            f"-Xmx{self.heap}",
            f"-Dlog4j2.configurationFile={REPO / 'deploy' / 'kafka' / 'log4j2.properties'}",
            "-cp",
            classpath(),
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(self.props),
        ]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self._ready, timeout_s, f"Kafka Connect not ready; see {self.log_path}", proc=self.proc)

    def _ready(self) -> bool:
        if not port_open("127.0.0.1", self.rest_port):
            return False
        try:
            plugins = self.rest.call("GET", "/connector-plugins")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return any(p["class"].endswith("PostgresConnector") for p in plugins)

    def stop(self) -> None:
        if self.proc is None:
            return
        signal_group(self.proc, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


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
    """Move the service's outbox from its relay to Debezium without loss or duplicates (module doc)."""
    slot = slot_name(database_url)
    engine = make_engine(database_url, pool_size=2)
    libpq = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO outbox_cdc (slot, switched_at) VALUES (:s, :t) ON CONFLICT (slot) DO NOTHING"),
                {"s": slot, "t": utcnow()},
            )
        with psycopg.connect(libpq, autocommit=True, connect_timeout=10) as lock:
            # A relay mid-batch holds it until its batch is marked; then its fetch sees the switch.
            lock.execute(f"SET lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
            lock.execute("SELECT pg_advisory_lock(%s)", (relay_lock_key(outbox.name),))
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
                conn.execute(
                    sa.text("UPDATE outbox_cdc SET start_lsn = :l WHERE slot = :s"), {"l": start_lsn, "s": slot}
                )
        if rest is not None and connector is not None:
            rest.put_connector(f"coins-outbox-{service}", connector)
        return Switched(slot, start_lsn, len(rows))
    finally:
        engine.dispose()


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
            _wait(lambda: not conn.execute(active, {"s": slot}).scalar(), 60, f"slot {slot} still in use")
        with engine.begin() as conn:
            conn.execute(
                sa.text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :s"),
                {"s": slot},
            )
            conn.execute(sa.text("DELETE FROM outbox_cdc WHERE slot = :s"), {"s": slot})
    finally:
        engine.dispose()
    return marked


def _wait(condition, timeout_s: float, message: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{message} (exited with {proc.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.2)
