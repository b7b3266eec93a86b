"""The cross-service auditor: conservation of coins and diamonds, checked over HTTP only.

Each service reports its own totals (GET /v1/internal/totals, caller `ops`); the auditor
waits until every event written to an outbox has been applied by its consumer, then checks
the money rules of the spec. It never reads another service's database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

# topic -> (service whose outbox writes it, service whose consumer applies it)
FLOWS = {
    "purchase.completed.v1": ("purchase", "gifting"),
    "purchase.reversed.v1": ("purchase", "gifting"),
    "gift.sent.v1": ("gifting", "payout"),
}


@dataclass
class AuditReport:
    totals: dict
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def fetch_totals(urls: dict[str, str], token_for: Callable[[str], str]) -> dict[str, dict]:
    """Each service's totals, asked with a token meant for that service (`aud`)."""
    totals = {}
    for service, url in urls.items():
        headers = {"Authorization": f"Bearer {token_for(service)}"}
        response = requests.get(f"{url}/v1/internal/totals", headers=headers, timeout=10)
        response.raise_for_status()
        totals[service] = response.json()
    return totals


def lagging(totals: dict[str, dict]) -> list[str]:
    """Topics whose written events are not all applied yet."""
    behind = []
    for topic, (producer, consumer) in FLOWS.items():
        written = totals[producer]["events_written"].get(topic, 0)
        applied = totals[consumer]["events_applied"].get(topic, 0)
        if applied != written:
            behind.append(f"{topic}: {written} written by {producer}, {applied} applied by {consumer}")
    return behind


def check(totals: dict[str, dict]) -> list[str]:
    p, g, o = totals["purchase"], totals["gifting"], totals["payout"]
    problems = []

    def expect(name: str, left: int, right: int) -> None:
        if left != right:
            problems.append(f"{name}: {left} != {right}")

    expect("coins credited to wallets = coins bought", g["coins_credited"], p["coins_bought"])
    expect("coins clawed back = coins reversed", g["coins_clawed_back"], p["coins_reversed"])
    expect(
        "coins bought - reversed = in wallets + spent on gifts",
        p["coins_bought"] - p["coins_reversed"],
        g["coins_in_wallets"] + g["coins_spent_on_gifts"],
    )
    expect("diamonds owed for gifts = diamonds credited to creators", g["diamonds_owed"], o["diamonds_credited"])
    for user in g["wallets_ledger_mismatch"]:
        problems.append(f"wallet {user}: balance differs from the sum of its ledger")
    for creator in o["accounts_earnings_mismatch"]:
        problems.append(f"creator {creator}: credited diamonds differ from the sum of their earnings")
    if o["withdrawals_fee_mismatch"]:
        problems.append(f"{o['withdrawals_fee_mismatch']} withdrawals where gross != net + fee")
    if p.get("purchases_overdue"):
        problems.append(f"{p['purchases_overdue']} purchases pending longer than the reconciler's bound")
    if o.get("withdrawals_overdue"):
        problems.append(f"{o['withdrawals_overdue']} withdrawals in flight longer than the payout worker's bound")
    return problems


def audit(
    urls: dict[str, str], token_for: Callable[[str], str], *, wait_s: float = 60.0, poll_s: float = 0.5
) -> AuditReport:
    deadline = time.monotonic() + wait_s
    while True:
        totals = fetch_totals(urls, token_for)
        behind = lagging(totals)
        if not behind:
            return AuditReport(totals=totals, problems=check(totals))
        if time.monotonic() > deadline:
            return AuditReport(
                totals=totals, problems=[f"consumers did not catch up in {wait_s:.0f}s: {b}" for b in behind]
            )
        time.sleep(poll_s)


def push_result(report: AuditReport, gateway: str, *, job: str = "coins-audit", timeout_s: float = 10.0) -> None:
    """Push the outcome to a Prometheus Pushgateway (the audit-failure alert reads it)."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    from shared import metrics

    registry = CollectorRegistry()
    Gauge(metrics.AUDIT_PROBLEMS, "Conservation rules the last audit found broken", registry=registry).set(
        len(report.problems)
    )
    Gauge(metrics.AUDIT_LAST_RUN, "When the audit last ran", registry=registry).set_to_current_time()
    if report.ok:
        Gauge(metrics.AUDIT_LAST_SUCCESS, "When the audit last passed", registry=registry).set_to_current_time()
    push_to_gateway(gateway, job=job, registry=registry, timeout=timeout_s)
