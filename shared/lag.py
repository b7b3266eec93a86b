"""Consumer lag per group and partition: the partition's end offset minus the group's committed one.

Read by a client of its own (never the consuming client, which is not thread-safe), from a
background thread, every `interval_s`; scrapes read the last values from `coins_consumer_lag_messages`.
Lag is an operator's signal only: some Kafka-compatible brokers (the local Tansu) report the end
offset per record batch, so "has a consumer caught up?" is answered elsewhere by comparing events
published with events applied (coinsctl audit), never by this number.
"""
from __future__ import annotations

import logging
import threading

from kafka import KafkaConsumer, TopicPartition

from shared import metrics
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


TIMEOUT_MS = 10_000  # each offsets request; a broker that does not answer fails the refresh


def consumer_lag(client: KafkaConsumer, group_topics: list[str]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> messages the group has not committed yet, for every partition of
    `group_topics`. `client` must have been made with the group's group_id (it never subscribes,
    so it does not join the group: `committed` only reads the group's offsets)."""
    partitions = [TopicPartition(topic, p) for topic in group_topics
                  for p in sorted(client.partitions_for_topic(topic) or ())]
    if not partitions:
        return {}
    ends = client.end_offsets(partitions, timeout_ms=TIMEOUT_MS)
    lag = {}
    for tp in partitions:
        committed = client.committed(tp, timeout_ms=TIMEOUT_MS)
        start = committed if committed is not None else client.beginning_offsets([tp], timeout_ms=TIMEOUT_MS)[tp]
        lag[(tp.topic, tp.partition)] = max(0, ends[tp] - start)
    return lag


def offsets_client(settings: KafkaSettings, group: str) -> KafkaConsumer:
    """A client that reads a group's offsets without joining it; every request bounded in time."""
    return KafkaConsumer(bootstrap_servers=settings.bootstrap_servers.split(","), group_id=group,
                         enable_auto_commit=False, client_id=f"{group}-lag", request_timeout_ms=TIMEOUT_MS,
                         metadata_max_age_ms=30_000)


class LagMonitor:
    """Publishes a group's lag to `coins_consumer_lag_messages` every `interval_s`."""

    def __init__(self, settings: KafkaSettings, *, group: str, topics: list[str], interval_s: float = 15.0):
        self.settings, self.group, self.interval_s = settings, group, interval_s
        self.topics = [settings.topic(t) for t in topics]
        self._client: KafkaConsumer | None = None

    def refresh(self) -> dict[tuple[str, int], int]:
        if self._client is None:
            self._client = offsets_client(self.settings, self.group)
        lag = consumer_lag(self._client, self.topics)
        for (topic, partition), behind in lag.items():
            metrics.CONSUMER_LAG.labels(self.group, topic, str(partition)).set(behind)
        return lag

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the broker may be away; the gauge keeps its last value
                log.warning("consumer lag not read", extra={"error": str(exc)[:300]})
                self.close()
            stop.wait(self.interval_s)
        self.close()

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), daemon=True, name="lag")
        thread.start()
        return thread

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.close(autocommit=False)
            except Exception:  # noqa: BLE001 - closing a client of a lost broker
                pass
