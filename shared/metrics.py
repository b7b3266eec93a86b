"""Prometheus metrics. Processes of one service can share PROMETHEUS_MULTIPROC_DIR, and then
`/metrics` of the web app reports the consumer's and relay's counters too.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

HTTP_REQUESTS = Counter("coins_http_requests_total", "HTTP requests served",
                        ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("coins_http_request_duration_seconds", "HTTP request latency",
                         ["service", "method", "route"],
                         buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
CONSUMED = Counter("coins_consumer_messages_total", "Messages handled by consumers",
                   ["service", "topic", "outcome"])  # outcome: applied, duplicate, dead_lettered
CONSUMER_RETRIES = Counter("coins_consumer_retries_total", "Batches retried after a transient error",
                           ["service"])
OUTBOX_PUBLISHED = Counter("coins_outbox_published_total", "Outbox events acknowledged by the broker",
                           ["service"])
RELAY_ERRORS = Counter("coins_outbox_relay_errors_total", "Outbox relay iterations that failed", ["service"])


class CallbackGauges:
    """Gauges computed at scrape time (e.g. the outbox backlog, read from the database)."""

    def __init__(self, collect: Callable[[], Iterable[tuple[str, str, float]]]):
        self._collect = collect

    def collect(self):
        for name, doc, value in self._collect():
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], value)
            yield family


class _Process:
    """This process's own metrics, for a scrape registry built per request."""

    def collect(self):
        from prometheus_client import REGISTRY
        return REGISTRY.collect()


def render(extra: Iterable = ()) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
