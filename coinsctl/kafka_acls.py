"""Who may do what on the broker: each service writes only the topics it owns and reads only
what it consumes (plus its own consumer group and the dead-letter topics of what it consumes).

Derived from the contracts (`Contract.producer`, `Contract.consumers`), so a new event cannot
be published by a service the contract does not name. Applied by an admin principal; Apache
Kafka enforces them with its StandardAuthorizer.
"""

from __future__ import annotations

import time

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from shared.contracts import CONTRACTS
from shared.kafka.admin import admin_client
from shared.kafka.settings import KafkaSettings


def service_acls(service: str, *, topic_prefix: str = "", group: str | None = None) -> list[ACL]:
    """The ACLs of one service's principal (User:<service>)."""
    principal = f"User:{service}"
    grants: list[tuple[ResourceType, str, ACLOperation]] = [
        (ResourceType.CLUSTER, "kafka-cluster", ACLOperation.IDEMPOTENT_WRITE)
    ]
    for topic, contract in CONTRACTS.items():
        if contract.producer == service:
            grants.append((ResourceType.TOPIC, topic_prefix + topic, ACLOperation.WRITE))
        if service in contract.consumers:
            grants.append((ResourceType.TOPIC, topic_prefix + topic, ACLOperation.READ))
            grants.append((ResourceType.TOPIC, f"{topic_prefix}{topic}.dlq", ACLOperation.WRITE))
            grants.append((ResourceType.GROUP, group or f"{service}-consumer", ACLOperation.READ))
    return [
        ACL(principal, "*", op, ACLPermissionType.ALLOW, ResourcePattern(kind, name, ACLResourcePatternType.LITERAL))
        for kind, name, op in dict.fromkeys(grants)
    ]


def apply_acls(admin_settings: KafkaSettings, acls: list[ACL], *, timeout_s: float = 30.0) -> None:
    """Create `acls` and wait until the broker reports them (they take effect asynchronously)."""
    admin = admin_client(admin_settings, timeout_s=timeout_s)
    try:
        result = admin.create_acls(acls)
        if result["failed"]:
            raise RuntimeError(f"ACLs refused: {result['failed']}")
        deadline = time.monotonic() + timeout_s
        wanted = {
            (a.principal, a.operation, a.resource_pattern.resource_type, a.resource_pattern.resource_name) for a in acls
        }
        while True:
            found, _ = admin.describe_acls(
                ACLFilter(
                    None,
                    "*",
                    ACLOperation.ANY,
                    ACLPermissionType.ANY,
                    ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
                )
            )
            have = {
                (a.principal, a.operation, a.resource_pattern.resource_type, a.resource_pattern.resource_name)
                for a in found
            }
            if wanted <= have:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"ACLs not in effect after {timeout_s:.0f}s: {wanted - have}")
            time.sleep(0.2)
    finally:
        admin.close()


def platform_acls(*, topic_prefix: str = "", groups: dict[str, str] | None = None) -> list[ACL]:
    """Every service's ACLs (`groups`: service -> its consumer group, default `<service>-consumer`)."""
    groups = groups or {}
    return [
        acl
        for service in ("purchase", "gifting", "payout")
        for acl in service_acls(service, topic_prefix=topic_prefix, group=groups.get(service))
    ]


def connect_acls(
    services: tuple[str, ...], *, topic_prefix: str = "", group: str = "connect-cluster", user: str = "connect"
) -> list[ACL]:
    """Kafka Connect's principal (the CDC path, coinsctl.cdc): its worker group and its own internal
    topics (`<prefix>connect-*`, which it creates), and write on the topics the named services
    produce (what their outbox holds), nothing else."""
    principal = f"User:{user}"
    internal = ResourcePattern(ResourceType.TOPIC, f"{topic_prefix}connect-", ACLResourcePatternType.PREFIXED)
    acls = [
        ACL(principal, "*", op, ACLPermissionType.ALLOW, internal)
        for op in (
            ACLOperation.CREATE,
            ACLOperation.READ,
            ACLOperation.WRITE,
            ACLOperation.DESCRIBE,
            ACLOperation.DESCRIBE_CONFIGS,
        )
    ]
    grants = [
        (ResourceType.GROUP, topic_prefix + group, ACLOperation.READ),
        (ResourceType.CLUSTER, "kafka-cluster", ACLOperation.IDEMPOTENT_WRITE),
    ]
    grants += [
        (ResourceType.TOPIC, topic_prefix + topic, ACLOperation.WRITE)
        for topic, contract in CONTRACTS.items()
        if contract.producer in services
    ]
    return acls + [
        ACL(principal, "*", op, ACLPermissionType.ALLOW, ResourcePattern(kind, name, ACLResourcePatternType.LITERAL))
        for kind, name, op in grants
    ]
