"""The broker holds each service to its own topics: on Apache Kafka every service is its own
SCRAM principal, and the ACLs derived from the contracts let it write only what it publishes."""

from __future__ import annotations

import dataclasses
import inspect
import uuid

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from coinsctl.kafka_acls import apply_acls, platform_acls
from shared.kafka.admin import TopicPolicy, ensure_topics
from shared.kafka.clients import client_options, make_producer
from shared.messaging.relay import OutboxRelay

pytestmark = pytest.mark.integration


@pytest.fixture
def secured(broker):
    if not broker.secured:
        pytest.skip(f"the session's broker ({broker.kind}, named by KAFKA_BOOTSTRAP_SERVERS) is not one with ACLs")
    prefix = f"acl{uuid.uuid4().hex[:6]}."
    ensure_topics(broker.settings("admin", topic_prefix=prefix), TopicPolicy(partitions=1))
    apply_acls(broker.settings("admin", topic_prefix=prefix), platform_acls(topic_prefix=prefix))
    return lambda user: broker.settings(user, topic_prefix=prefix)


def send(settings, topic: str) -> None:
    producer = make_producer(settings, client_id="acl-test")
    try:
        producer.send(settings.topic(topic), key=b"creator", value=b"{}").get(timeout=15)
    finally:
        producer.close(timeout=5)


def test_a_service_writes_its_own_topic_and_the_dead_letters_of_what_it_consumes(secured):
    send(secured("gifting"), "gift.sent.v1")
    send(secured("gifting"), "purchase.completed.v1.dlq")
    send(secured("payout"), "withdrawal.completed.v1")


def test_gifting_cannot_mint_a_withdrawal_nor_purchase_coins_nor_payout_diamonds(secured):
    with pytest.raises(TopicAuthorizationFailedError):
        send(secured("gifting"), "withdrawal.completed.v1")
    with pytest.raises(TopicAuthorizationFailedError):
        send(secured("gifting"), "purchase.completed.v1")
    with pytest.raises(TopicAuthorizationFailedError):
        send(secured("payout"), "gift.sent.v1")  # a creator's own service cannot credit them diamonds


def test_a_consumer_writes_the_dead_letters_of_what_it_consumes_and_of_nothing_else(secured):
    send(secured("payout"), "gift.sent.v1.dlq")
    for service, topic in (
        ("payout", "purchase.completed.v1.dlq"),  # not a topic it consumes
        ("payout", "withdrawal.completed.v1.dlq"),  # its own topic's: it is no consumer of it
        ("gifting", "gift.sent.v1.dlq"),  # the producer does not dead-letter its own topic
        ("purchase", "purchase.completed.v1.dlq"),
        ("outsider", "gift.sent.v1.dlq"),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            send(secured(service), topic)


def test_an_authenticated_principal_with_no_grants_can_write_nothing(secured):
    with pytest.raises(TopicAuthorizationFailedError):
        send(secured("outsider"), "gift.sent.v1")


def test_an_unauthenticated_client_is_refused(secured):
    anonymous = dataclasses.replace(secured("admin"), security_protocol="PLAINTEXT", sasl_mechanism=None)
    options = client_options(anonymous)
    with pytest.raises(KafkaError):  # the listener speaks SASL only: no metadata, no send
        producer = KafkaProducer(**options, max_block_ms=5_000)
        try:
            producer.send(secured("admin").topic("gift.sent.v1"), value=b"{}").get(timeout=10)
        finally:
            producer.close(timeout=2)


def test_a_send_waits_for_a_topics_metadata_less_than_the_relay_waits_for_its_acks(secured):
    """A topic missing from the metadata (deleted, or not yet made) blocks `send` until
    max_block_ms: bounded below the relay's own wait, not kafka-python's 60 s."""
    relay_waits_s = inspect.signature(OutboxRelay).parameters["send_timeout_s"].default
    producer = make_producer(secured("gifting"), client_id="acl-test")
    try:
        assert producer.config["max_block_ms"] / 1000 < relay_waits_s
    finally:
        producer.close(timeout=5)
