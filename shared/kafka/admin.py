"""Topics and consumer lag: what an operator (or the test and local setup) asks of the cluster.

Topics are created with explicit settings rather than the broker's defaults: a record is
acknowledged only once `min.insync.replicas` copies hold it (acks=all), no unclean leader
election (which can silently drop acknowledged records), and dead letters kept long enough for
a human to look at them (KafkaSettings says how long). Works on any Kafka-protocol broker (Apache
Kafka, or a compatible one such as Tansu).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from shared.contracts import ALL_TOPICS, CONTRACTS
from shared.kafka.clients import client_options
from shared.kafka.settings import KafkaSettings

log = logging.getLogger(__name__)
HOUR_MS = 3600 * 1000


@dataclass(frozen=True)
class TopicPolicy:
    partitions: int = 6
    replication: int = 1
    retention_hours: int = KafkaSettings.retention_hours
    dlq_retention_hours: int = KafkaSettings.dlq_retention_hours

    @classmethod
    def of(cls, settings: KafkaSettings, **kwargs) -> TopicPolicy:
        """The policy with the retention `settings` say (what the inbox's window is checked against)."""
        return cls(retention_hours=settings.retention_hours, dlq_retention_hours=settings.dlq_retention_hours, **kwargs)

    def configs(self, topic: str) -> dict[str, str]:
        hours = self.dlq_retention_hours if topic.endswith(".dlq") else self.retention_hours
        return {
            "min.insync.replicas": str(min(2, self.replication)),  # 2 of 3 in production
            "unclean.leader.election.enable": "false",
            "cleanup.policy": "delete",
            "retention.ms": str(hours * HOUR_MS),
        }

    def partitions_of(self, topic: str) -> int:
        return 1 if topic.endswith(".dlq") else self.partitions  # letters are few; one keeps them in order


def admin_client(settings: KafkaSettings, *, timeout_s: float = 30.0) -> KafkaAdminClient:
    """An admin client, retried while the broker is still starting."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(**client_options(settings), client_id="coins-admin", request_timeout_ms=10_000)
        except Exception:  # noqa: BLE001 - broker still starting, or not yet reachable
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ensure_topics(
    settings: KafkaSettings,
    policy: TopicPolicy = TopicPolicy(),
    *,
    topics: tuple[str, ...] = ALL_TOPICS,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create every topic the platform uses (and its dead-letter topic); existing ones are left alone."""
    admin = admin_client(settings, timeout_s=timeout_s)
    created = []
    try:
        existing = set(admin.list_topics())
        for topic in topics:
            name = settings.topic(topic)
            if name in existing:
                continue
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name, policy.partitions_of(topic), policy.replication, topic_configs=policy.configs(topic)
                        )
                    ]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return created


def consumer_lag(settings: KafkaSettings, group: str, topics: list[str]) -> dict[TopicPartition, int]:
    """Records not yet committed by `group`, per partition: the high watermark minus its offset.

    Exact on Apache Kafka. Tansu's high watermark is the base offset of its last batch plus one,
    so there the figure is a lower bound; ask the inbox what was applied instead."""
    admin = admin_client(settings, timeout_s=10)
    try:
        # Every request bounded: the lag is read from a probe-side thread while the broker may be away.
        consumer = KafkaConsumer(
            **client_options(settings), client_id="coins-lag", enable_auto_commit=False, request_timeout_ms=10_000
        )
    except Exception:
        admin.close()
        raise
    try:
        parts = [
            TopicPartition(settings.topic(t), p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(settings.topic(t)) or ())
        ]
        if not parts:
            return {}
        committed = _while_retriable(lambda: admin.list_group_offsets({group: parts}).get(group, {}))
        ends = consumer.end_offsets(parts, timeout_ms=10_000)
        lag = {}
        for tp in parts:
            done = committed.get(tp)
            lag[tp] = max(0, ends[tp] - (done.offset if done is not None and done.offset >= 0 else 0))
        return lag
    finally:
        consumer.close()
        admin.close()


def _while_retriable(call, *, timeout_s: float = 10.0):
    """`call()`, again while the broker answers a retriable error (a group's coordinator still
    loading, or moving after a restart), for at most `timeout_s`; then that error."""
    deadline, delay = time.monotonic() + timeout_s, 0.1
    while True:
        try:
            return call()
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def consumed_topics(service: str) -> list[str]:
    return [topic for topic, contract in CONTRACTS.items() if service in contract.consumers]
