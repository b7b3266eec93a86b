"""The payout worker: sends pending withdrawals to the payout processor and settles them.

`python -m services.payout.entrypoints.payout_worker`. Several may run: on PostgreSQL each
claims its own rows (SKIP LOCKED), and a claim whose worker died is taken over after its lease.
Each attempt is a span of the trace of the request that made the withdrawal (its traceparent is
stored with it): its log lines and the event that settles it carry that trace.
"""

from __future__ import annotations

import logging
import threading

from services.payout.adapters import queries
from services.payout.bootstrap import PayoutService, bootstrap
from services.payout.domain.model import COMPLETED, FAILED, Withdrawal
from services.payout.service_layer import payouts
from shared import metrics, tracing
from shared.clock import utcnow
from shared.db_errors import retry_transient
from shared.health import ProcessHealth
from shared.logs import configure_logging
from shared.probes import probe_app
from shared.process import run_until_stopped

log = logging.getLogger(__name__)


def run_once(svc: PayoutService) -> int:
    """Claim and settle one batch; returns how many withdrawals were settled."""
    claimed = retry_transient(
        lambda: payouts.claim_payouts(
            uow=svc.uow(), limit=svc.settings.worker_batch, lease_seconds=svc.settings.worker_lease_seconds
        )
    )
    for withdrawal in claimed:  # each on its own: one that fails never holds up the rest of the batch
        token = tracing.enter(tracing.continued(withdrawal.traceparent, withdrawal.tracestate))
        try:
            attempt = retry_transient(
                lambda withdrawal=withdrawal: payouts.pay_out(
                    withdrawal, uow=svc.uow(), processor=svc.processor, max_attempts=svc.settings.max_attempts
                )
            )
            log.info(
                "withdrawal sent",
                extra={
                    "withdrawal_id": withdrawal.withdrawal_id,
                    "status": attempt.withdrawal.status,
                    "outcome": attempt.outcome,
                    "attempt": withdrawal.attempts,
                },
            )
            _count(withdrawal, attempt)
        except Exception:  # noqa: BLE001 - it stays claimed and is tried again after its lease
            log.exception("withdrawal failed to settle", extra={"withdrawal_id": withdrawal.withdrawal_id})
        finally:
            tracing.leave(token)
    return len(claimed)


def _count(claimed: Withdrawal, attempt: payouts.PayoutAttempt) -> None:
    """A payout this attempt settled, by its status; one sent again after an unknown outcome also
    as the reconciler's outcome (completed, failed, or still_unknown when the processor cannot
    say yet). One another worker settled meanwhile is that worker's to count."""
    if attempt.outcome in (COMPLETED, FAILED):
        metrics.PAYOUTS_SETTLED.labels("payout", attempt.outcome).inc()
    if claimed.attempts > 1 and attempt.outcome != payouts.SETTLED_ELSEWHERE:
        metrics.RECONCILER_OUTCOMES.labels("payout", attempt.outcome).inc()


def backlog_gauges(svc: PayoutService):
    """Scrape-time gauges: withdrawals not yet settled, and those whose outcome is unknown."""

    def collect():
        with svc.engine.connect() as conn:
            counts = queries.worker_backlog(conn, now=utcnow())
        labels = {"service": "payout"}
        return [
            (metrics.PAYOUTS_PENDING, metrics.HELP[metrics.PAYOUTS_PENDING], labels, counts["pending"]),
            (metrics.RECONCILER_BACKLOG, metrics.HELP[metrics.RECONCILER_BACKLOG], labels, counts["unknown"]),
        ]

    return collect


def loop(svc: PayoutService, stop: threading.Event, health: ProcessHealth | None = None) -> None:
    backoff = svc.settings.worker_idle_seconds
    health = health or ProcessHealth()
    while not stop.is_set():
        health.beat()
        try:
            if run_once(svc) == 0:
                stop.wait(svc.settings.worker_idle_seconds)
            backoff = svc.settings.worker_idle_seconds
            health.report("payouts", True)
        except Exception as exc:  # noqa: BLE001 - unpaid withdrawals stay claimed and are retried after the lease
            log.exception("payout batch failed")
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
