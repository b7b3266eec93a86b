"""Prometheus metrics: every metric object of the platform, and rendering a scrape.

Names follow Prometheus conventions: a `coins_` namespace, base units in the name (`_seconds`),
`_total` on counters only. Under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR (set by
shared.http.gunicorn_conf when the environment does not) and `/metrics` aggregates them per pod; the
relay, consumer and worker serve their own on METRICS_PORT (shared.runtime.probes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from shared.env import Env

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("coins_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "coins_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HTTP_REFUSALS = Counter(
    "coins_http_refusals_total", "Requests answered with a problem+json, by its code", ["service", "status", "code"]
)  # code: the problem type's last segment, a fixed set (grant-replayed, not-enough-coins, ...)
HTTP_CONNECTIONS_REFUSED = Counter(
    "coins_http_connections_refused_total",
    "Connections closed before their request reached a thread (shared.http.gunicorn_worker)",
    ["reason"],
)  # reason: header_timeout, body_timeout, too_many, headers_too_large, body_too_large
CONSUMED = Counter(
    "coins_consumer_messages_total", "Messages handled by consumers", ["service", "topic", "outcome"]
)  # outcome: applied, duplicate, dead_lettered
CONSUMER_RETRIES = Counter("coins_consumer_retries_total", "Batches rolled back and retried", ["service"])
DEAD_LETTERS = Counter(
    "coins_consumer_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "topic", "reason"]
)  # reason: malformed, wrong_type, rejected, failed
# Written by a background thread of the consumer from the group's committed offsets and the
# partitions' end offsets (shared.runtime.runners); every partition of the group's topics, assigned or not.
CONSUMER_LAG = Gauge(
    "coins_consumer_lag_messages",
    "Messages behind the end of the partition, per group",
    ["group", "topic", "partition"],
    multiprocess_mode="livemostrecent",
)
OUTBOX_PUBLISHED = Counter("coins_outbox_published_total", "Outbox events acknowledged by the broker", ["service"])
OUTBOX_RETRIES = Counter(
    "coins_outbox_publish_retries_total", "Relay batches not wholly acknowledged by the broker, sent again", ["service"]
)
RELAY_ERRORS = Counter("coins_outbox_relay_errors_total", "Outbox relay iterations that failed", ["service"])
PAYOUTS_SETTLED = Counter(
    "coins_payouts_settled_total", "Withdrawals the payout worker settled", ["service", "status"]
)  # status: completed, failed
# The money flow, counted by the relays from the events the broker acknowledged (shared.observability.volume).
EVENTS = Counter("coins_events_total", "Business events published (at least once)", ["service", "type"])
EVENT_COINS = Counter(
    "coins_event_coins_total", "Coins carried by published events: bought, clawed back, spent", ["service", "type"]
)
EVENT_DIAMONDS = Counter(
    "coins_event_diamonds_total", "Diamonds carried by published events: granted, paid, returned", ["service", "type"]
)
EVENT_MONEY_MINOR = Counter(
    "coins_event_money_minor_total",
    "Money carried by published events in minor units: charged (amount_minor), paid or not (net_minor)",
    ["service", "type", "currency"],
)
# Charges and payouts whose outcome was unknown, as the reconciling process settled them. outcome:
# completed, declined, held, reversed (a purchase), failed (a payout), still_unknown (asked again
# later), error.
RECONCILER_OUTCOMES = Counter(
    "coins_reconciler_outcomes_total", "Unknown-outcome charges and payouts settled", ["service", "outcome"]
)
# Callers' public key files the key ring skipped (shared.auth.tokens): unreadable, malformed, misnamed, a kid twice.
KEY_FILES_REJECTED = Counter("coins_auth_key_files_rejected_total", "Public key files skipped as unusable", ["reason"])
# Withdrawals held for an operator. reason: country_blocked, under_review (at pay time), answer_mismatch
# (the processor answered for another id, amount or currency).
# Calls to a card or payout processor (shared.outbound), one per call whatever its retries. outcome:
# answered (any status below 500), unknown (every attempt timed out, failed to connect or got a 5xx).
PROCESSOR_CALLS = Counter(
    "coins_processor_calls_total", "Calls to an outside processor, by outcome", ["service", "processor", "outcome"]
)
PAYOUTS_HELD = Counter("coins_payouts_held_total", "Withdrawals held for review instead of paid", ["service", "reason"])


# Gauges read at scrape time (shared.runtime.health), by name.
OUTBOX_BACKLOG = "coins_outbox_backlog_events"
OUTBOX_OLDEST_AGE = "coins_outbox_oldest_age_seconds"
BROKER_UP = "coins_broker_up"
# Read from the database by the reconciling processes (the purchase reconciler, the payout worker).
RECONCILER_BACKLOG = "coins_reconciler_backlog"
RECONCILER_OLDEST_AGE = "coins_reconciler_oldest_age_seconds"
PURCHASES_HELD = "coins_purchases_held"
PAYOUTS_PENDING = "coins_payouts_pending"
PAYOUTS_UNKNOWN_AGE = "coins_payouts_oldest_unknown_age_seconds"
PAYOUTS_HELD_NOW = "coins_payouts_held"
# Pushed by `coinsctl audit --pushgateway` (coinsctl.audit), for the audit-failure alert.
AUDIT_PROBLEMS = "coins_audit_problems"
AUDIT_LAST_RUN = "coins_audit_last_run_timestamp_seconds"
AUDIT_LAST_SUCCESS = "coins_audit_last_success_timestamp_seconds"
SCRAPE_TIME_GAUGES = (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    BROKER_UP,
    RECONCILER_BACKLOG,
    RECONCILER_OLDEST_AGE,
    PURCHASES_HELD,
    PAYOUTS_PENDING,
    PAYOUTS_UNKNOWN_AGE,
    PAYOUTS_HELD_NOW,
)
# Their HELP, one text whichever process serves them.
HELP = {
    OUTBOX_BACKLOG: "Events written but not yet acknowledged by the broker",
    OUTBOX_OLDEST_AGE: "Age of the oldest unpublished event",
    BROKER_UP: "Whether a bootstrap broker accepts connections",
    RECONCILER_BACKLOG: "Charges and payouts of unknown outcome awaiting the reconciler",
    RECONCILER_OLDEST_AGE: "Age of the oldest charge or payout whose outcome is not settled yet",
    PURCHASES_HELD: "Purchases held for review: the processor's answer did not match the charge asked for",
    PAYOUTS_PENDING: "Withdrawals not yet settled by the payout processor",
    PAYOUTS_UNKNOWN_AGE: "Age of the oldest withdrawal sent to the payout processor whose outcome is unknown",
    PAYOUTS_HELD_NOW: "Withdrawals held for an operator, their diamonds reserved",
}
PUSHED_GAUGES = (AUDIT_PROBLEMS, AUDIT_LAST_RUN, AUDIT_LAST_SUCCESS)


class CallbackGauges:
    """Gauges computed at scrape time (e.g. the outbox backlog, read from the database):
    collect() -> (name, doc, labels, value) tuples."""

    def __init__(self, collect: Callable[[], Iterable[tuple[str, str, dict, float]]]):
        self._collect = collect

    def collect(self):
        families: dict[str, GaugeMetricFamily] = {}
        try:
            samples = list(self._collect())
        except Exception as exc:  # noqa: BLE001 - a database away must not fail the whole scrape
            log.warning("scrape-time gauges not read", extra={"error": str(exc)[:300]})
            samples = []
        for name, doc, labels, value in samples:
            if name not in families:
                families[name] = GaugeMetricFamily(name, doc, labels=list(labels))
            families[name].add_metric(list(labels.values()), value)
        yield from families.values()


class _Process:
    """This process's own metrics, for a scrape registry built per request."""

    def collect(self):
        from prometheus_client import REGISTRY

        return REGISTRY.collect()


def render(extra: Iterable = ()) -> tuple[bytes, str]:
    """One scrape: every process sharing PROMETHEUS_MULTIPROC_DIR (or this one), plus `extra`."""
    registry = CollectorRegistry()
    if Env().optional("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
