"""Consumer lag of a process's own group, published as `coins_consumer_lag_messages`.

A background thread reads it every `interval_s` with `shared.kafka.admin.consumer_lag` (clients of
its own, never the consuming one, which is not thread-safe; authenticated like every client, as
the service's principal, which may describe its own group and topics). Scrapes read the last
values. Lag is an operator's signal only: some Kafka-compatible brokers (Tansu) report
the end offset per record batch, so "has a consumer caught up?" is answered elsewhere by comparing
events published with events applied (coinsctl audit), never by this number.
"""

from __future__ import annotations

import logging
import threading

from shared.kafka.admin import consumer_lag
from shared.kafka.settings import KafkaSettings
from shared.observability import metrics

log = logging.getLogger(__name__)


class LagMonitor:
    """Publishes a group's lag to `coins_consumer_lag_messages` every `interval_s`."""

    def __init__(self, settings: KafkaSettings, *, group: str, topics: list[str], interval_s: float = 15.0):
        self.settings, self.group, self.topics, self.interval_s = settings, group, list(topics), interval_s

    def refresh(self) -> dict[tuple[str, int], int]:
        """(topic as published, partition) -> messages the group has not committed yet."""
        lag = {
            (tp.topic, tp.partition): behind
            for tp, behind in consumer_lag(self.settings, self.group, self.topics).items()
        }
        for (topic, partition), behind in lag.items():
            metrics.CONSUMER_LAG.labels(self.group, topic, str(partition)).set(behind)
        return lag

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the broker may be away; the gauge keeps its last value
                log.warning("consumer lag not read", extra={"error": str(exc)[:300]})
            stop.wait(self.interval_s)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), daemon=True, name="lag")
        thread.start()
        return thread
