"""Another language's view of the events: every topic read with librdkafka (confluent-kafka, the
C client most non-Python services use), checked against the published contract documents."""

from __future__ import annotations

import json
from pathlib import Path

import confluent_kafka
import jsonschema
import pytest

from shared.contracts import CONTRACTS
from tests.support.stories import buy, dispute, earnings, send_gift, spendable, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def read_topic(settings, topic: str, until_key: str) -> list:
    """The records of `topic` from the start until one keyed `until_key`, read as a consumer in
    another language would."""
    config = {
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": f"librdkafka-{unique('reader')}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "security.protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        config.update(
            {
                "sasl.mechanisms": settings.sasl_mechanism,
                "sasl.username": settings.sasl_username,
                "sasl.password": settings.sasl_password,
            }
        )
    consumer = confluent_kafka.Consumer(config)
    consumer.subscribe([settings.topic(topic)])
    records = []
    try:

        def caught_up():
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                records.append(message)
            return records and records[-1].key() == until_key.encode()

        wait_until(caught_up, timeout=60, message=f"{topic}'s record for {until_key} through librdkafka")
    finally:
        consumer.close()
    return records


def test_every_topic_reads_the_same_with_librdkafka_and_matches_its_published_schema(api, stack):
    viewer, creator = unique("viewer"), unique("creator")
    purchase = buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700)
    assert send_gift(api, viewer, creator, "rose", quantity=3).status_code == 201
    wait_until(lambda: earnings(api, creator)["total"] == 3, message="the gift credited")
    dispute(api, purchase["purchase_id"])
    assert (
        api.post(
            "purchase",
            "/v1/chargebacks",
            {"purchase_id": purchase["purchase_id"], "reason": "fraud"},
            caller="processor",
        ).status_code
        == 202
    )
    admin = stack.kafka_admin()
    seen = {}
    for topic, key in (("purchase.completed.v1", viewer), ("gift.sent.v1", creator), ("purchase.reversed.v1", viewer)):
        schema = json.loads((DOCS / f"{topic}.schema.json").read_text())
        records = read_topic(admin, topic, until_key=key)
        for record in records:
            event = json.loads(record.value())
            jsonschema.validate(event, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            documented = schema["properties"]["data"]["properties"]
            assert set(event["data"]) <= set(documented), "a produced field the contract does not document"
            headers = dict(record.headers())
            assert headers["event_id"].decode() == event["event_id"]
            assert headers["type"].decode() == event["type"]
            key_field = CONTRACTS[topic].key_field
            assert record.key().decode() == event["data"][key_field]
        seen[topic] = len(records)
    assert all(seen.values()), seen
