"""The broker grants each service's principal exactly what its contracts name: it writes the topics
it produces and the dead-letter topics of those it consumes (its consumer library dead-letters on
behalf of its own group), reads what it consumes with its own group, and nothing else."""

from __future__ import annotations

from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourceType

from coinsctl.kafka_acls import platform_acls, service_acls
from shared.contracts import CONTRACTS


def grants(service: str, **kw) -> set[tuple[str, str, str]]:
    return {
        (a.operation.name, a.resource_pattern.resource_type.name, a.resource_pattern.resource_name)
        for a in service_acls(service, **kw)
    }


def test_each_principal_writes_its_own_topics_and_only_the_dead_letters_of_what_it_consumes():
    assert grants("gifting", topic_prefix="p.") == {
        ("IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster"),
        ("WRITE", "TOPIC", "p.gift.sent.v1"),
        ("READ", "TOPIC", "p.purchase.completed.v1"),
        ("READ", "TOPIC", "p.purchase.reversed.v1"),
        ("WRITE", "TOPIC", "p.purchase.completed.v1.dlq"),
        ("WRITE", "TOPIC", "p.purchase.reversed.v1.dlq"),
        ("READ", "GROUP", "gifting-consumer"),
    }
    assert grants("payout", group="payout-g") == {
        ("IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster"),
        ("WRITE", "TOPIC", "withdrawal.completed.v1"),
        ("WRITE", "TOPIC", "withdrawal.failed.v1"),
        ("WRITE", "TOPIC", "payout_method.changed.v1"),
        ("WRITE", "TOPIC", "payout_method.hold_lifted.v1"),
        ("READ", "TOPIC", "gift.sent.v1"),
        ("WRITE", "TOPIC", "gift.sent.v1.dlq"),
        ("READ", "GROUP", "payout-g"),
    }
    assert grants("purchase") == {
        ("IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster"),
        ("WRITE", "TOPIC", "purchase.completed.v1"),
        ("WRITE", "TOPIC", "purchase.reversed.v1"),
    }
    assert grants("outsider") == {("IDEMPOTENT_WRITE", "CLUSTER", "kafka-cluster")}


def test_a_dead_letter_topic_is_written_by_its_topics_consumers_alone_and_read_by_none():
    acls = platform_acls()
    for topic, contract in CONTRACTS.items():
        writers = {a.principal for a in acls if a.resource_pattern.resource_name == f"{topic}.dlq"}
        assert writers == {f"User:{c}" for c in contract.consumers}, topic
    assert not [a for a in acls if a.resource_pattern.resource_name.endswith(".dlq") and a.operation.name != "WRITE"]


def test_every_grant_is_an_allow_on_one_literal_name_for_any_host():
    for a in platform_acls():
        assert a.permission_type == ACLPermissionType.ALLOW and a.host == "*"
        assert a.resource_pattern.pattern_type == ACLResourcePatternType.LITERAL
        assert "*" not in a.resource_pattern.resource_name
        assert a.operation in (ACLOperation.READ, ACLOperation.WRITE, ACLOperation.IDEMPOTENT_WRITE)
        assert a.resource_pattern.resource_type in (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER)
