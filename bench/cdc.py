"""The run on the CDC path: a Kafka Connect worker (distributed mode, from the jars `make test`
fetches: deploy/connect/fetch-jars.sh, cached) with Debezium's connector on gifting's outbox, moved
there from the relay by the same switch operators use (coinsctl.cdc), and back afterwards.

Only gifting moves: its outbox carries the gift events whose diamonds are timed. Payout's outbox
(withdrawal events) is not on the gift path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg

from coinsctl import cdc
from coinsctl.connect_worker import ConnectWorker, wait
from coinsctl.kafka_acls import apply_acls, connect_acls
from services.gifting.adapters.orm import tables as gifting_tables
from shared.kafka.clients import make_producer

SERVICES_ON_CDC = ("gifting",)
CDC_ROLE = "coins_cdc"
PREFIX = "sys."  # the stack's topic prefix (bench.steps.start_stack)


@contextlib.contextmanager
def on_debezium(run) -> Iterator[ConnectWorker]:
    """Gifting's outbox published by Debezium (run by the Connect worker it gives) inside the
    block; by its relay again after it."""
    with psycopg.connect(run.admin_url or _admin(run), autocommit=True) as conn:
        level = conn.execute("SHOW wal_level").fetchone()[0]
        if level != "logical":
            raise RuntimeError(f"wal_level is {level}: the CDC step needs logical (the bench's own cluster has it)")
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (CDC_ROLE,)).fetchone():
            conn.execute(f"CREATE ROLE {CDC_ROLE} LOGIN REPLICATION")
    admin = run.broker.settings("admin", topic_prefix=PREFIX)
    apply_acls(admin, connect_acls(SERVICES_ON_CDC, topic_prefix=PREFIX))
    worker = ConnectWorker.on_broker(run.work / "connect", run.broker, PREFIX)
    run.say("starting Kafka Connect")
    worker.start()
    try:
        url = run.databases["gifting"]
        cdc.prepare(url, CDC_ROLE)
        producer = make_producer(run.broker.settings("gifting", topic_prefix=PREFIX), client_id="bench-cdc-switch")
        try:
            run.say("switching gifting's outbox to Debezium")
            connector = cdc.connector_config("gifting", url, user=CDC_ROLE, topic_prefix=PREFIX)
            cdc.to_cdc(
                "gifting", url, gifting_tables["outbox"], producer, admin.topic, rest=worker.rest, connector=connector
            )
        finally:
            producer.close(timeout=10)
        wait(lambda: worker.rest.running("coins-outbox-gifting"), 120, "the connector does not run")
        run.on_cdc = True
        try:
            yield worker
        finally:
            run.on_cdc = False
            run.say("switching gifting's outbox back to its relay")
            cdc.to_relay("gifting", url, rest=worker.rest)
    finally:
        worker.stop()


def _admin(run) -> str:
    from tests.support import postgres

    return postgres.ADMIN_URL
