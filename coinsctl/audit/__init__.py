"""The cross-service auditor: do the books balance? Checked over HTTP only.

It reads each service's totals (GET /v1/internal/totals) and ops-only listings (purchases,
withdrawals, accounts with their withdrawals, earnings, gifts; caller `ops`), and the processors'
settlement reports through their adapter ports (books.py); then runs every check (checks.py) on
its own: a flow that still lags at the end of the wait is one failure among the results, never a
reason to skip the others. When something differs, the listings and reports are read again and
only what both reads find counts, so an item that moved between the processor's report and the
ledger's is not named. It never reads another
service's database. Exit codes (`exit_code`): 0 the books balance, 1 they do not (each mismatch
named), 2 a source could not be read (what was read is still checked and reported).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from coinsctl.audit.books import Processors, Reader, read_books, read_totals, sandbox_processors
from coinsctl.audit.checks import CHECKS, FLOWS, Books, Check, Problem, events_applied

__all__ = ["FLOWS", "AuditReport", "CheckResult", "Processors", "audit", "push_result", "sandbox_processors"]

OK, FAIL, UNCHECKED = "OK", "FAIL", "UNCHECKED"


@dataclass
class CheckResult:
    name: str
    status: str  # OK, FAIL or UNCHECKED (a source it needs could not be read)
    problems: list[str] = field(default_factory=list)


@dataclass
class AuditReport:
    totals: dict
    results: list[CheckResult] = field(default_factory=list)
    under_traffic: bool = False  # the flows between services were checked item by item

    @property
    def problems(self) -> list[str]:
        return [f"{r.name}: {p}" for r in self.results if r.status != OK for p in r.problems]

    @property
    def ok(self) -> bool:
        return all(r.status == OK for r in self.results)

    @property
    def exit_code(self) -> int:
        if any(r.status == FAIL for r in self.results):
            return 1
        return 2 if any(r.status == UNCHECKED for r in self.results) else 0


@dataclass(frozen=True)
class Outcome:
    """One check's run: its problems, or None and why it could not run."""

    check: Check
    problems: list[Problem] | None
    why: tuple[str, ...] = ()


def run_checks(books: Books, checks: tuple[Check, ...] = CHECKS) -> list[Outcome]:
    """Each check run on its own; one whose source was not read, or whose rows it cannot read,
    is not run (and says why)."""
    outcomes = []
    for check in checks:
        missing = [n for n in check.needs if n in books.unreadable or _source(books, n) is None]
        if missing:
            why = tuple(f"{n} not read: {books.unreadable.get(n, 'missing')}" for n in missing)
            outcomes.append(Outcome(check, None, why))
            continue
        try:
            outcomes.append(Outcome(check, check.run(books)))
        except (KeyError, TypeError, ValueError) as exc:  # a row not as the check expects
            outcomes.append(Outcome(check, None, (f"a row not understood: {type(exc).__name__} {exc}",)))
    return outcomes


def confirmed(first: list[Problem], second: list[Problem]) -> list[Problem]:
    """The second read's problems that the first read had too (by what they are about)."""
    seen = {p.key for p in first}
    return [p for p in second if p.key in seen]


def report(books: Books, first: list[Outcome], second: list[Outcome] | None = None) -> AuditReport:
    """The first read's outcomes; where a second read ran a check again, only what both found."""
    again = {o.check.name: o for o in second or ()}
    results = []
    for outcome in first:
        later = again.get(outcome.check.name)
        if outcome.problems is None or (later is not None and later.problems is None):
            why = outcome.why if outcome.problems is None else later.why
            results.append(CheckResult(outcome.check.name, UNCHECKED, list(why)))
            continue
        problems = confirmed(outcome.problems, later.problems) if later is not None else outcome.problems
        results.append(CheckResult(outcome.check.name, FAIL if problems else OK, [p.text for p in problems]))
    return AuditReport(totals=books.totals, results=results, under_traffic=books.under_traffic)


def audit(
    urls: dict[str, str],
    token_for: Callable[[str], str],
    *,
    processors: Processors | None,
    wait_s: float = 60.0,
    poll_s: float = 0.5,
) -> AuditReport:
    """Wait (up to `wait_s`) for every written event to be applied, then check everything. Under
    traffic that never stops (the totals moved through the wait, some event always in flight),
    the flows between services are checked item by item (checks.Books.under_traffic). An item
    problem counts only if a later read still finds it while nothing is in flight any more, or
    after `wait_s` more (`_read_again`)."""
    reader = Reader(urls, token_for)
    deadline = time.monotonic() + wait_s
    began = None  # the wait's first read of every service's totals
    while True:
        totals, unreadable = read_totals(reader)
        began = began or (None if unreadable else totals)
        settled = not unreadable and not events_applied(Books(totals=totals))
        if settled or time.monotonic() > deadline:
            break
        time.sleep(poll_s)
    books = read_books(reader, processors, totals=totals, unreadable=unreadable)
    books.under_traffic = not settled and not unreadable and began != totals
    first = run_checks(books)
    if not any(o.problems for o in first):
        return report(books, first)
    # Something differs: read the books again; only what is still wrong then counts (the sums of
    # totals were read once consumers caught up, as before: they are not re-read).
    again = _read_again(reader, processors, first, totals=totals, unreadable=unreadable, wait_s=wait_s, poll_s=poll_s)
    return report(books, first, again)


ITEM_CHECKS = tuple(c for c in CHECKS if not any(n.startswith("totals.") for n in c.needs))


def _read_again(reader, processors, first: list[Outcome], *, totals, unreadable, wait_s: float, poll_s: float):
    """The item checks on the books read again: until none of the first read's item problems is
    left, or nothing is in flight (every event written was applied when the books were read again,
    or the totals stopped moving: what is left then is no item in flight), or `wait_s` has passed;
    less and less often (an event retried by its consumer may take seconds)."""
    pending = {p.key for o in first for p in o.problems or ()}
    until, pause, before = time.monotonic() + wait_s, poll_s, None
    while True:
        now, lost = read_totals(reader)  # before the items: what was in flight then is in them
        again = run_checks(read_books(reader, processors, totals=totals, unreadable=unreadable), ITEM_CHECKS)
        left = pending & {p.key for o in again for p in o.problems or ()}
        in_flight = not lost and bool(events_applied(Books(totals=now))) and now != before
        if not left or not in_flight or time.monotonic() + pause > until:
            return again
        before = now
        time.sleep(pause)
        pause = min(pause * 2, 8.0)


def _source(books: Books, need: str):
    if need.startswith("totals."):
        return books.totals.get(need.split(".", 1)[1])
    return getattr(books, need)


def push_result(report: AuditReport, gateway: str, *, job: str = "coins-audit", timeout_s: float = 10.0) -> None:
    """Push the outcome to a Prometheus Pushgateway (the audit-failure alerts read it).

    POST (pushadd), not PUT: a PUT replaces the whole group, so a failed run would delete the last
    success's timestamp, and with it the alert that the audit has not passed for hours."""
    from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

    from shared.observability import metrics

    registry = CollectorRegistry()
    Gauge(metrics.AUDIT_PROBLEMS, "Conservation rules the last audit found broken", registry=registry).set(
        len(report.problems)
    )
    Gauge(metrics.AUDIT_LAST_RUN, "When the audit last ran", registry=registry).set_to_current_time()
    if report.ok:
        Gauge(metrics.AUDIT_LAST_SUCCESS, "When the audit last passed", registry=registry).set_to_current_time()
    pushadd_to_gateway(gateway, job=job, registry=registry, timeout=timeout_s)
