"""Render the Grafana dashboard of the money flow (dashboard.json) from the panels below.

Run `python deploy/observability/dashboard.py` after changing it; the tests check the file is
current and that every metric it queries is one the services export.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
POSTS = {
    "purchases": ("purchase", "/v1/purchases"),
    "gifts": ("gifting", "/v1/gifts"),
    "withdrawals": ("payout", "/v1/withdrawals"),
}


def created(service: str, route: str) -> str:
    return (
        f'sum(rate(coins_http_requests_total{{service="{service}",method="POST",route="{route}",'
        f'status="201"}}[$__rate_interval]))'
    )


def latency(quantile: str, service: str, route: str) -> str:
    return (
        f"histogram_quantile({quantile}, sum by (le) (rate(coins_http_request_duration_seconds_bucket"
        f'{{service="{service}",method="POST",route="{route}"}}[$__rate_interval])))'
    )


def volume(unit: str, event_type: str) -> str:
    """Coins or diamonds carried by one type of event (shared.observability.volume, counted by the relays)."""
    return f'sum(rate(coins_event_{unit}_total{{type="{event_type}"}}[$__rate_interval]))'


def money(event_type: str) -> str:
    return f'sum by (currency) (rate(coins_event_money_minor_total{{type="{event_type}"}}[$__rate_interval]))'


# (title, unit, [(legend, expr)])
PANELS = [
    (
        "Money in and out (per second)",
        "reqps",
        [(name, created(*where)) for name, where in POSTS.items()]
        + [
            ("payouts completed", 'sum(rate(coins_payouts_settled_total{status="completed"}[$__rate_interval]))'),
            ("payouts failed", 'sum(rate(coins_payouts_settled_total{status="failed"}[$__rate_interval]))'),
        ],
    ),
    (
        "Coins and diamonds moved (per second)",
        "short",
        [
            ("coins bought", volume("coins", "purchase.completed")),
            ("coins clawed back (chargebacks)", volume("coins", "purchase.reversed")),
            ("coins spent on gifts", volume("coins", "gift.sent")),
            ("diamonds granted (gifts)", volume("diamonds", "gift.sent")),
            ("diamonds paid out", volume("diamonds", "withdrawal.completed")),
            ("diamonds returned (payouts failed)", volume("diamonds", "withdrawal.failed")),
        ],
    ),
    (
        "Money charged and paid out (minor units per second)",
        "short",
        [
            ("charged {{currency}}", money("purchase.completed")),
            ("paid out {{currency}}", money("withdrawal.completed")),
        ],
    ),
    (
        "Events applied downstream (per second)",
        "ops",
        [
            (
                "coins credited to wallets (purchases)",
                'sum(rate(coins_consumer_messages_total{service="gifting",'
                'topic="purchase.completed.v1",outcome="applied"}[$__rate_interval]))',
            ),
            (
                "diamonds credited to creators (gifts)",
                'sum(rate(coins_consumer_messages_total{service="payout",'
                'topic="gift.sent.v1",outcome="applied"}[$__rate_interval]))',
            ),
            ("duplicates absorbed", 'sum(rate(coins_consumer_messages_total{outcome="duplicate"}[$__rate_interval]))'),
        ],
    ),
    (
        "Latency p50 / p99",
        "s",
        [(f"{name} p{q[2:]}", latency(q, *where)) for name, where in POSTS.items() for q in ("0.5", "0.99")],
    ),
    (
        "5xx ratio",
        "percentunit",
        [
            (
                "{{service}}",
                'sum by (service) (rate(coins_http_requests_total{status=~"5.."}[$__rate_interval])) / '
                "sum by (service) (rate(coins_http_requests_total[$__rate_interval]))",
            )
        ],
    ),
    (
        "Consumer lag (messages)",
        "short",
        [
            (
                "{{group}} {{topic}}",
                "sum by (group, topic) (max by (group, topic, partition) (coins_consumer_lag_messages))",
            )
        ],
    ),
    ("Outbox: oldest unpublished event", "s", [("{{service}}", "max by (service) (coins_outbox_oldest_age_seconds)")]),
    ("Outbox backlog (events)", "short", [("{{service}}", "max by (service) (coins_outbox_backlog_events)")]),
    (
        "Dead letters (last hour)",
        "short",
        [
            (
                "{{service}} {{topic}} {{reason}}",
                "sum by (service, topic, reason) (increase(coins_consumer_dead_letters_total[1h]))",
            )
        ],
    ),
    (
        "Retries (per second)",
        "ops",
        [
            ("consumer batches {{service}}", "sum by (service) (rate(coins_consumer_retries_total[$__rate_interval]))"),
            (
                "relay batches {{service}}",
                "sum by (service) (rate(coins_outbox_publish_retries_total[$__rate_interval]))",
            ),
            ("relay errors {{service}}", "sum by (service) (rate(coins_outbox_relay_errors_total[$__rate_interval]))"),
        ],
    ),
    ("Broker reachable from web pods", "short", [("{{service}}", "min by (service) (coins_broker_up)")]),
    (
        "Payouts pending, reconciler backlog",
        "short",
        [
            ("payouts pending", "max(coins_payouts_pending)"),
            ("reconciler backlog {{service}}", "max by (service) (coins_reconciler_backlog)"),
            ("reconciler {{outcome}}", "sum by (outcome) (increase(coins_reconciler_outcomes_total[1h]))"),
            ("purchases held for review", "max(coins_purchases_held)"),
        ],
    ),
    (
        "Payouts: oldest of unknown outcome, held for an operator",
        "short",
        [
            ("oldest unknown (s)", "max(coins_payouts_oldest_unknown_age_seconds)"),
            ("held", "max(coins_payouts_held)"),
            ("held {{reason}}", "sum by (reason) (increase(coins_payouts_held_total[1h]))"),
        ],
    ),
    (
        "Oldest unknown outcome",
        "s",
        [("{{service}}", "max by (service) (coins_reconciler_oldest_age_seconds)")],
    ),
    (
        "Processor calls (per second)",
        "reqps",
        [
            (
                "{{service}} {{processor}} {{outcome}}",
                "sum by (service, processor, outcome) (rate(coins_processor_calls_total[$__rate_interval]))",
            )
        ],
    ),
    (
        "Processes scraped (PodMonitor targets up)",
        "short",
        [("{{app}} {{component}}", 'sum by (app, component) (up{app=~"coins-.+"})')],
    ),
    ("Audit: broken rules", "short", [("problems", "max(coins_audit_problems)")]),
]


def panel(index: int, title: str, unit: str, targets: list[tuple[str, str]]) -> dict:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (legend, expr) in enumerate(targets)
        ],
    }


def dashboard() -> dict:
    return {
        "uid": "coins-money-flow",
        "title": "Coins: money flow",
        "tags": ["coins"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": [panel(i, *spec) for i, spec in enumerate(PANELS)],
    }


def main() -> None:
    (HERE / "dashboard.json").write_text(json.dumps(dashboard(), indent=2) + "\n")


if __name__ == "__main__":
    main()
