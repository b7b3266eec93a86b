"""A broker that lost its data (metadata included) while the processes lived on: every record
the broker acknowledged to our producers is on its topic.

Kafka's idempotent producer could not promise it: the new cluster numbers producer ids from 0
again, a producer of the lost cluster still writes with its old id, and the broker takes a new
producer's first batch for a copy of the stale producer's batch with the same id and sequence,
acknowledging it at the stale batch's offset without writing it (a relay's event marked
published and never delivered; a replayed dead letter that never came back). The broker here is
one of the test's own, so that it can be wiped."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from coinsctl.apache_kafka import ApacheKafka
from shared.kafka.admin import TopicPolicy, ensure_topics
from shared.kafka.clients import client_options, make_producer, publish

TOPIC, OTHER = "gift.sent.v1", "purchase.completed.v1"
TOPICS = (TOPIC, OTHER)


def _values(settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(**client_options(settings), enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        values = []
        while consumer.position(tp) < end:
            values += [r.value for r in consumer.poll(timeout_ms=1000).get(tp, ())]
        return values
    finally:
        consumer.close()


def test_every_record_acknowledged_after_the_broker_lost_its_data_is_on_its_topic(tmp_path):
    broker = ApacheKafka(tmp_path / "broker")
    broker.start()
    try:
        settings = broker.settings("admin")
        policy = TopicPolicy(partitions=1)
        ensure_topics(settings, policy, topics=TOPICS)
        stale = make_producer(settings, client_id="lives-on")  # e.g. a relay's, across the loss
        stale.send(OTHER, value=b"before").get(timeout=30)  # this cluster gave it whatever id it needed
        broker.wipe()
        broker.start()
        ensure_topics(settings, policy, topics=TOPICS)
        stale.send(TOPIC, value=b"stale").get(timeout=30)  # its first batch on this partition
        fresh = [f"fresh-{i}".encode() for i in range(3)]
        for value in fresh:  # new producers of the new cluster: ids from 0 again, if it gives ids
            publish(settings, [{"topic": TOPIC, "partition": 0, "value": value}], client_id="after")
        stale.close(timeout=10)
        assert _values(settings, TOPIC) == [b"stale", *fresh]
    finally:
        broker.stop()
