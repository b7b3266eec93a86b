"""The CDC path's configuration: Debezium's records must be the relay's (topic, key, value, headers),
and Kafka Connect's principal may do no more than its job."""

from __future__ import annotations

from kafka.admin import ACLOperation, ResourceType

from coinsctl.cdc import connector_config, slot_name
from coinsctl.connect_worker import worker_properties
from coinsctl.kafka_acls import connect_acls
from shared.contracts import CONTRACTS
from shared.messaging.relay import message_headers

URL = "postgresql://coins@gifting-db:5432/gifting"


def test_the_outbox_router_places_every_header_the_relay_sends_under_the_relay_s_names():
    config = connector_config("gifting", URL, user="coins_cdc", topic_prefix="sys.")
    placed = dict(
        (spec.split(":")[2], spec.split(":")[0])
        for spec in config["transforms.outbox.table.fields.additional.placement"].split(",")
    )
    relay = {name for name, _ in message_headers("e-1", "gift.sent", "t", "00-a-b-01", "s")}
    assert relay <= set(placed)
    assert placed["type"] == "event_type" and placed["event_id"] == "event_id"
    assert config["transforms.outbox.table.field.event.key"] == "message_key"
    assert config["transforms.outbox.route.by.field"] == "topic"
    assert config["transforms.outbox.route.topic.replacement"] == "sys.${routedByValue}"  # KafkaSettings.topic
    # Strings as they are: the key's and the payload's bytes, not JSON with a schema around them.
    assert config["key.converter"] == config["value.converter"] == "org.apache.kafka.connect.storage.StringConverter"
    assert config["snapshot.mode"] == "no_data" and config["publication.autocreate.mode"] == "disabled"
    assert config["slot.name"] == slot_name(URL) == "outbox_gifting"


def test_the_heartbeat_s_rows_never_reach_a_topic():
    config = connector_config("gifting", URL, user="coins_cdc")
    assert config["transforms"].split(",") == ["beat", "outbox"]
    assert config["transforms.beat.type"].endswith("Filter") and config["transforms.beat.predicate"] == "beat"
    assert "outbox_cdc_beat" in config["heartbeat.action.query"]
    assert config["predicates.outbox.pattern"] == r"coins_gifting\.public\.outbox"


def test_connect_may_write_only_the_switched_services_topics_and_its_own():
    acls = connect_acls(("gifting",), topic_prefix="p.")
    writable = {
        a.resource_pattern.resource_name
        for a in acls
        if a.resource_pattern.resource_type == ResourceType.TOPIC and a.operation == ACLOperation.WRITE
    }
    gifting_topics = {"p." + t for t, c in CONTRACTS.items() if c.producer == "gifting"}
    assert writable == gifting_topics | {"p.connect-"}
    assert all(a.principal == "User:connect" for a in acls)
    assert not any(a.operation == ACLOperation.ALL for a in acls)


def test_the_worker_authenticates_every_client_it_makes():
    props = worker_properties(
        bootstrap="k:9092",
        sasl={"protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-512", "username": "connect", "password": "pw"},
        rest_host="0.0.0.0",
        rest_port=8083,
        topic_prefix="p.",
    )
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert f"{prefix}security.protocol=SASL_SSL" in props
        jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="pw";'
        assert f"{prefix}sasl.jaas.config={jaas}" in props
    assert "group.id=p.connect-cluster" in props and "offset.storage.topic=p.connect-offsets" in props
