"""Entry points shared by every service's background processes: the outbox relay and a consumer."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.inbox import Handler, InboxConsumer
from shared.kafka import RebuildingProducer, make_consumer
from shared.logs import configure_logging
from shared.outbox import OutboxRelay
from shared.process import run_until_stopped
from shared.settings import CommonSettings


def run_relay(settings: CommonSettings, engine: Engine, outbox_table: sa.Table, *,
              metrics_port: int | None = None) -> None:
    configure_logging(settings.service, settings.log_level, process="relay")
    producer = RebuildingProducer(settings.kafka, client_id=f"{settings.service}-relay")
    relay = OutboxRelay(engine=engine, table=outbox_table, producer=producer, topic_name=settings.kafka.topic,
                        service=settings.service, batch_size=settings.kafka.batch_size,
                        linger_s=settings.kafka.linger_ms / 1000)

    def cleanup():
        relay.close()
        producer.close(timeout=10)
    run_until_stopped(f"{settings.service}-relay", relay.run, metrics_port=metrics_port, cleanup=cleanup)


def run_consumer(settings: CommonSettings, engine: Engine, inbox_table: sa.Table, handlers: dict[str, Handler], *,
                 metrics_port: int | None = None) -> None:
    configure_logging(settings.service, settings.log_level, process="consumer")
    producer = RebuildingProducer(settings.kafka, client_id=f"{settings.service}-dlq")
    consumer = make_consumer(settings.kafka, group_id=settings.consumer_group, topics=list(handlers),
                             client_id=f"{settings.service}-consumer")
    inbox = InboxConsumer(engine=engine, inbox=inbox_table, consumer=consumer, producer=producer,
                          handlers=handlers, group=settings.consumer_group, service=settings.service,
                          topic_name=settings.kafka.topic, watchdog_s=settings.kafka.watchdog_s,
                          batch_size=settings.kafka.batch_size,
                          linger_s=settings.kafka.consumer_linger_ms / 1000,
                          commit_interval_s=settings.kafka.commit_interval_ms / 1000)

    def cleanup():
        consumer.close(autocommit=False)
        producer.close(timeout=10)
    run_until_stopped(f"{settings.service}-consumer", inbox.run, metrics_port=metrics_port, cleanup=cleanup)
