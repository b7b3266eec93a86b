"""The payout worker: sends pending withdrawals to the payout processor and settles them.

`python -m services.payout.entrypoints.payout_worker`. Several may run: each claims one
withdrawal at a time (SKIP LOCKED on PostgreSQL), sends it and settles it; a claim whose worker
died is taken over after its lease, and its payout looked up before anything is sent again.
Each attempt is a span of the trace of the request that made the withdrawal (its traceparent is
stored with it): its log lines and the event that settles it carry that trace.
"""

from __future__ import annotations

import logging
import threading

from services.payout.adapters import queries
from services.payout.bootstrap import PayoutService, bootstrap
from services.payout.domain.model import COMPLETED, FAILED, HELD
from services.payout.service_layer import payouts
from shared.clock import utcnow
from shared.db.engines import ClockCheck, retry_transient
from shared.observability import metrics, tracing
from shared.observability.logs import configure_logging
from shared.runtime.health import ProcessHealth
from shared.runtime.probes import probe_app
from shared.runtime.process import run_until_stopped

log = logging.getLogger(__name__)


def run_once(svc: PayoutService) -> int:
    """Claim one withdrawal, send it (or look it up), settle it; returns how many were claimed (0 or 1)."""
    claim = retry_transient(lambda: payouts.claim_next(uow=svc.uow(), lease_seconds=svc.settings.worker_lease_seconds))
    if claim is None:
        return 0
    looked_up = claim.attempts > 0  # sent before with no known outcome: this attempt reconciles it
    span = _attempt_span(claim)
    token = tracing.enter(span)
    try:
        # Retried on a transient database error: the claim then counts its send, so it is looked up first.
        attempt = retry_transient(
            lambda: payouts.pay_out(
                claim,
                uow=svc.uow(),
                processor=svc.processor,
                rules=svc.settings.rules,
                policy=svc.settings.worker_policy,
            )
        )
        log.info(
            "withdrawal sent" if not looked_up else "withdrawal looked up",
            extra={
                "withdrawal_id": claim.withdrawal_id,
                "status": attempt.withdrawal.status,
                "outcome": attempt.outcome,
                "reason": attempt.reason,
                "attempt": claim.attempts,
            },
        )
        _count(attempt, looked_up=looked_up)
    except Exception as exc:  # noqa: BLE001 - its claim lapses and the next claim looks it up
        span.fail(type(exc).__name__, exc)
        log.exception("withdrawal failed to settle", extra={"withdrawal_id": claim.withdrawal_id})
    finally:
        tracing.leave(token)
        span.end()
    return 1


def _attempt_span(claim) -> tracing.Span:
    """The attempt's span, in the trace of the request that made the withdrawal."""
    attributes = {"coins.withdrawal_id": claim.withdrawal_id, "coins.attempt": claim.attempts}
    return tracing.continued(claim.traceparent, claim.tracestate, name="payout withdrawal", attributes=attributes)


def _count(attempt: payouts.PayoutAttempt, *, looked_up: bool) -> None:
    """A payout this attempt settled, by its status, or held, by why; one looked up after an
    unknown outcome also as the reconciler's outcome (completed, failed, held, or still_unknown
    when the processor cannot say yet). One another worker holds or settled is theirs to count."""
    if attempt.outcome in (COMPLETED, FAILED):
        metrics.PAYOUTS_SETTLED.labels("payout", attempt.outcome).inc()
    if attempt.outcome == HELD:
        metrics.PAYOUTS_HELD.labels("payout", attempt.reason).inc()
    if looked_up and attempt.outcome != payouts.SETTLED_ELSEWHERE:
        metrics.RECONCILER_OUTCOMES.labels("payout", attempt.outcome).inc()


def backlog_gauges(svc: PayoutService):
    """Scrape-time gauges: withdrawals not yet settled, those whose outcome is unknown and the age
    of the oldest of them, and those held for an operator."""

    def collect():
        with svc.engine.connect() as conn:
            counts = queries.worker_backlog(conn, now=utcnow())
        labels = {"service": "payout"}
        return [
            (metrics.PAYOUTS_PENDING, metrics.HELP[metrics.PAYOUTS_PENDING], labels, counts["pending"]),
            (metrics.RECONCILER_BACKLOG, metrics.HELP[metrics.RECONCILER_BACKLOG], labels, counts["unknown"]),
            (
                metrics.PAYOUTS_UNKNOWN_AGE,
                metrics.HELP[metrics.PAYOUTS_UNKNOWN_AGE],
                labels,
                counts["oldest_unknown_age_seconds"],
            ),
            (metrics.PAYOUTS_HELD_NOW, metrics.HELP[metrics.PAYOUTS_HELD_NOW], labels, counts["held"]),
        ]

    return collect


def loop(svc: PayoutService, stop: threading.Event, health: ProcessHealth | None = None) -> None:
    backoff = svc.settings.worker_idle_seconds
    health = health or ProcessHealth()
    clock = ClockCheck(svc.engine)
    while not stop.is_set():
        health.beat()
        try:
            if not clock.allows_claims(health, "payouts"):  # a lease by this clock could end before its holder's
                stop.wait(svc.settings.worker_idle_seconds)
                continue
            if run_once(svc) == 0:
                stop.wait(svc.settings.worker_idle_seconds)
            backoff = svc.settings.worker_idle_seconds
            health.report("payouts", True)
        except Exception as exc:  # noqa: BLE001 - a claimed withdrawal is taken again after its lease
            log.exception("payout attempt failed")
            health.report("payouts", False, f"failing: {type(exc).__name__}")
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)


def main() -> None:
    svc = bootstrap()
    configure_logging("payout", svc.settings.common.log_level, process="worker")
    health = ProcessHealth(stall_after_s=svc.settings.common.stall_seconds)
    run_until_stopped(
        "payout-worker",
        lambda stop: loop(svc, stop, health),
        metrics_port=svc.settings.common.metrics_port,
        metrics_host=svc.settings.common.metrics_host,
        probes=probe_app(health, [metrics.CallbackGauges(backlog_gauges(svc))]),
    )


if __name__ == "__main__":
    main()
