"""Entry points shared by every service's background processes: the outbox relay and a consumer,
with its group's lag published as a gauge (`LagMonitor`).

Each serves its metrics and probes on METRICS_PORT (shared.runtime.probes) when that is set.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.kafka.admin import consumer_lag
from shared.kafka.clients import RebuildingProducer, make_consumer
from shared.kafka.settings import KafkaSettings
from shared.messaging.consumer import InboxConsumer
from shared.messaging.inbox import Handler
from shared.messaging.relay import OutboxRelay
from shared.observability import metrics
from shared.observability.logs import configure_logging
from shared.runtime.health import ProcessHealth, broker_check, outbox_gauges
from shared.runtime.probes import probe_app
from shared.runtime.process import run_until_stopped
from shared.settings import CommonSettings

log = logging.getLogger(__name__)


def run_relay(settings: CommonSettings, engine: Engine, outbox_table: sa.Table) -> None:
    configure_logging(settings.service, settings.log_level, process="relay")
    health = ProcessHealth(stall_after_s=settings.stall_seconds)
    producer = RebuildingProducer(settings.kafka, client_id=f"{settings.service}-relay")
    relay = OutboxRelay(
        engine=engine,
        table=outbox_table,
        producer=producer,
        topic_name=settings.kafka.topic,
        service=settings.service,
        batch_size=settings.kafka.batch_size,
        linger_s=settings.kafka.linger_ms / 1000,
        health=health,
    )
    gauges = metrics.CallbackGauges(outbox_gauges(engine, outbox_table, settings.service))

    def cleanup():
        relay.close()
        producer.close(timeout=10)

    probes = probe_app(
        health, [gauges], ready_checks=lambda: {"broker": broker_check(settings.kafka.bootstrap_servers)}
    )
    run_until_stopped(
        f"{settings.service}-relay",
        relay.run,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
        probes=probes,
        cleanup=cleanup,
    )


def run_consumer(settings: CommonSettings, engine: Engine, inbox_table: sa.Table, handlers: dict[str, Handler]) -> None:
    configure_logging(settings.service, settings.log_level, process="consumer")
    # The consumer's own watchdog exits at watchdog_s; liveness says so a little earlier.
    health = ProcessHealth(stall_after_s=min(settings.stall_seconds, settings.kafka.watchdog_s or 10**9))
    producer = RebuildingProducer(settings.kafka, client_id=f"{settings.service}-dlq")
    consumer, resume = make_consumer(
        settings.kafka,
        group_id=settings.consumer_group,
        topics=list(handlers),
        client_id=f"{settings.service}-consumer",
    )
    loop = InboxConsumer(
        engine=engine,
        inbox=inbox_table,
        handlers=handlers,
        consumer=consumer,
        resume=resume,
        producer=producer,
        health=health,
        **_consumer_tuning(settings),
    )
    stop = threading.Event()
    LagMonitor(settings.kafka, group=settings.consumer_group, topics=list(handlers)).start(stop)

    def cleanup():
        consumer.close(autocommit=False)
        producer.close(timeout=10)

    probes = probe_app(health, ready_checks=lambda: {"broker": broker_check(settings.kafka.bootstrap_servers)})
    run_until_stopped(
        f"{settings.service}-consumer",
        loop.run,
        metrics_port=settings.metrics_port,
        metrics_host=settings.metrics_host,
        probes=probes,
        cleanup=cleanup,
        stop=stop,
    )


def _consumer_tuning(settings: CommonSettings) -> dict:
    """The consumer loop's group, names and tuning, from the service's settings."""
    kafka = settings.kafka
    return {
        "group": settings.consumer_group,
        "service": settings.service,
        "topic_name": kafka.topic,
        "watchdog_s": kafka.watchdog_s,
        "batch_size": kafka.batch_size,
        "linger_s": kafka.consumer_linger_ms / 1000,
        "commit_interval_s": kafka.commit_interval_ms / 1000,
    }


# -- consumer lag ---------------------------------------------------------------------------------
# Consumer lag of a process's own group, published as `coins_consumer_lag_messages`.
#
# A background thread reads it every `interval_s` with `shared.kafka.admin.consumer_lag` (clients
# of its own, never the consuming one, which is not thread-safe; authenticated like every client,
# as the service's principal, which may describe its own group and topics). Scrapes read the last
# values. Lag is an operator's signal only: some Kafka-compatible brokers (Tansu) report the end
# offset per record batch, so "has a consumer caught up?" is answered elsewhere by comparing
# events published with events applied (coinsctl audit), never by this number.


class LagMonitor:
    """Publishes a group's lag to `coins_consumer_lag_messages` every `interval_s`."""

    def __init__(self, settings: KafkaSettings, *, group: str, topics: list[str], interval_s: float = 15.0):
        self.settings, self.group, self.topics, self.interval_s = settings, group, list(topics), interval_s

    def refresh(self) -> dict[tuple[str, int], int]:
        """(topic as published, partition) -> messages the group has not committed yet."""
        lag = {
            (tp.topic, tp.partition): behind
            for tp, behind in consumer_lag(self.settings, self.group, self.topics).items()
        }
        for (topic, partition), behind in lag.items():
            metrics.CONSUMER_LAG.labels(self.group, topic, str(partition)).set(behind)
        return lag

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the broker may be away; the gauge keeps its last value
                log.warning("consumer lag not read", extra={"error": str(exc)[:300]})
            stop.wait(self.interval_s)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), daemon=True, name="lag")
        thread.start()
        return thread
