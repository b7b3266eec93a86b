"""Kafka clients configured the one safe way: acks=all producers with one request in flight
(no producer ids), manual-commit consumers."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError, UnknownTopicOrPartitionError

from shared.env import ConfigError
from shared.kafka.settings import KafkaSettings

log = logging.getLogger(__name__)
# kafka-python's own metrics (sensors updated on every send, batch and fetch): nothing reads them,
# the processes export theirs to Prometheus (shared.observability.metrics). Off for the relays'
# producers and the consumers, which carry every event.
_NO_CLIENT_METRICS = {"metrics_enabled": False}


def client_options(settings: KafkaSettings) -> dict:
    """Where the brokers are and how to authenticate to them: every client takes these."""
    options = {
        "bootstrap_servers": settings.bootstrap_servers.split(","),
        "security_protocol": settings.security_protocol,
        # kafka-python backs off up to 30 s between reconnects by default: a broker back from
        # a restart would then sit unused for that long (and trip the consumer's watchdog).
        "reconnect_backoff_max_ms": 1000,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options.update(ssl_cafile=settings.ssl_cafile, ssl_check_hostname=settings.ssl_check_hostname)
    if settings.sasl_mechanism:
        if not (settings.sasl_username and settings.sasl_password):
            # Only relays, consumers and ops tools log in (shared/credentials.py): say which is missing.
            raise ConfigError(
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or _FILE) must be set to log in to the broker"
            )
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
    return options


def make_producer(settings: KafkaSettings, *, client_id: str) -> KafkaProducer:
    """acks=all, retried, one request in flight per connection (a key's records stay in order).

    Not Kafka's idempotent producer: a broker that lost its data numbers producer ids from 0
    again, while producers of the lost cluster still write with theirs. The broker then takes a
    new producer's first batch for a copy of the stale one's with the same id and sequence, and
    acknowledges it without writing it (tests/integration/test_broker_lost_data.py): an event
    marked published, never delivered. Without producer ids an acknowledged record is written;
    a record sent twice (a retry after a lost answer) is deduped by its consumers' inbox, which
    every consumer here has. Same throughput for the relay's rounds (a send, then a flush)."""
    return KafkaProducer(
        **client_options(settings),
        **_NO_CLIENT_METRICS,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        max_in_flight_requests_per_connection=1,
        retries=2**31 - 1,
        linger_ms=5,
        request_timeout_ms=10_000,
        delivery_timeout_ms=15_000,  # a send not acknowledged by then fails, and its owner retries it
        max_block_ms=10_000,  # a send waiting for a topic's metadata (missing, or not ours): 10 s, not 60
    )


def sendable_headers(headers) -> list[tuple[str, bytes]]:
    """A record's headers as a producer can send them again (a dead letter, a replay): one without
    a value is left out. Debezium's outbox router writes one for a NULL column (tracestate, mostly),
    where the relay writes none; kafka-python refuses to send it."""
    return [(name, value) for name, value in headers or () if value is not None]


def publish(settings: KafkaSettings, records: list[dict], *, client_id: str, attempts: int = 3) -> None:
    """Send each record (`send()`'s keyword arguments, with `topic`) and wait until all are
    acknowledged; for one-shot senders (tools, tests), which have no relay to send again. What
    fails is sent again by a new producer (a broker that came back may refuse a producer's
    connection state). A record sent twice is deduped by its consumers."""
    pending, error = list(records), None
    for _ in range(attempts):
        producer = make_producer(settings, client_id=client_id)
        try:
            futures = [(record, producer.send(**record)) for record in pending]
            producer.flush(timeout=30)
            failed = []
            for record, future in futures:
                try:
                    future.get(timeout=0)
                except KafkaError as exc:
                    failed.append(record)
                    error = exc
        finally:
            producer.close(timeout=10)
        if not failed:
            return
        log.warning(
            "sending again what a producer failed to send",
            extra={"client": client_id, "failed": len(failed), "error": str(error)},
        )
        pending = failed
    raise error


class RebuildingProducer:
    """A producer that is replaced after a failed send, so that nothing of a failed producer's
    state (its connections, its metadata) outlives the failure; unacknowledged records are sent
    again by their owner, and consumers dedupe."""

    def __init__(self, settings: KafkaSettings, *, client_id: str):
        self._settings, self._client_id = settings, client_id
        self._producer: KafkaProducer | None = None

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = make_producer(self._settings, client_id=self._client_id)
        return self._producer

    def send(self, topic: str, **kwargs):
        return self.producer.send(topic, **kwargs)

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout=timeout)

    def rebuild(self) -> None:
        if self._producer is not None:
            log.warning("rebuilding the Kafka producer after a failed send", extra={"client": self._client_id})
            # Closing a producer caught mid-handshake can block: let it close on its own time.
            old, self._producer = self._producer, None
            threading.Thread(target=old.close, kwargs={"timeout": 10}, daemon=True).start()

    def close(self, timeout: float = 10) -> None:
        if self._producer is not None:
            self._producer.close(timeout=timeout)
            self._producer = None


class WholeRangeAssignor(RangePartitionAssignor):
    """The range assignment, refused while any subscribed topic has no partitions in the leader's
    metadata: the leader then joins again (a retriable error) once its metadata has them.

    kafka-python's range assignor skips such a topic and assigns none of its partitions, and its
    coordinator rebalances again only when the topic's partitions *change* from those it last
    recorded. After a broker restarted empty, a member whose metadata was refreshed while the
    topics were made anew but their ACLs not yet (answered "not authorized": no partitions, and
    no refresh asked for minutes) leads the new group with the lost cluster's partition list as
    its record: the same partition numbers come back, nothing changes, and the group keeps an
    empty assignment for good (events published then were never applied). Same protocol name:
    members that still offer the plain range assignor agree with it."""

    name = "range"

    @classmethod
    def assign(cls, cluster, members):
        missing = sorted({t for m in members for t in m.metadata.topics if not cluster.partitions_for_topic(t)})
        if missing:
            log.warning("no partition metadata for subscribed topics; joining again", extra={"topics": missing})
            raise UnknownTopicOrPartitionError(f"no partition metadata for {', '.join(missing)}")
        return super().assign(cluster, members)


ASSIGNORS = (WholeRangeAssignor,)  # what make_consumer's members offer their group


class ResumeFromCommitted(ConsumerRebalanceListener):
    """On every assignment, start each partition at the group's committed offset (or the beginning).

    Without this a member that rejoins keeps its in-memory position, which is wrong when the
    broker lost its data (its topics start again at 0). For Tansu (memory-only, and it does not
    answer with OFFSET_OUT_OF_RANGE); on Apache Kafka it matters only after a lost disk. Re-reading
    uncommitted records is harmless: the inbox dedupes them."""

    def __init__(self, consumer: KafkaConsumer):
        self.consumer = consumer
        self.pending: set = set()

    def on_partitions_revoked(self, revoked) -> None:
        self.pending.difference_update(revoked)

    def on_partitions_assigned(self, assigned) -> None:
        self.pending.update(assigned)  # the client cannot block in here: resumed before the next poll

    def resume_pending(self) -> None:
        assigned = self.consumer.assignment()
        for tp in [tp for tp in self.pending if tp in assigned]:
            committed = self.consumer.committed(tp, timeout_ms=10_000)  # the caller retries a KafkaError
            if committed is None:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, committed)
        self.pending.clear()


def make_consumer(
    settings: KafkaSettings, *, group_id: str, topics: list[str], client_id: str
) -> tuple[KafkaConsumer, Callable[[], None]]:
    """A member of group `group_id` subscribed to `topics`, and its `resume`: to be called before
    each poll, it starts newly assigned partitions at their committed offsets (`ResumeFromCommitted`)."""
    consumer = KafkaConsumer(
        **client_options(settings),
        **_NO_CLIENT_METRICS,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(500, settings.session_timeout_ms // 4),
        max_poll_records=settings.batch_size,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_poll_interval_ms=300_000,
        partition_assignment_strategy=ASSIGNORS,
    )
    listener = ResumeFromCommitted(consumer)
    consumer.subscribe([settings.topic(t) for t in topics], listener=listener)
    return consumer, listener.resume_pending


def broker_reachable(bootstrap_servers: str, timeout_s: float = 1.0) -> bool:
    """True if at least one bootstrap broker accepts a TCP connection."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False
