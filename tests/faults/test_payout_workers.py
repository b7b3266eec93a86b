"""Two payout workers over one batch, on PostgreSQL and on SQLite, with a slow processor and a
clock moved by hand: every send of worker A takes the processor's whole deadline, and worker B
takes a turn while each of A's sends is in flight. With a lease on a whole batch, A's later items
went out after their lease: B claimed one at its last attempt, found nothing at the processor,
failed it and returned its diamonds, and then A's send paid it. Now each send is made under a
live claim on that one withdrawal, so every withdrawal is paid at most once and never both paid
and returned, and the diamonds add up."""

from __future__ import annotations

import queue
import threading
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from services.payout.adapters.orm import creator_accounts, withdrawals
from services.payout.adapters.processor import UNKNOWN, PayoutResult
from services.payout.domain.commands import CreditEarnings, RegisterCreator, RequestWithdrawal
from services.payout.entrypoints.payout_worker import run_once
from services.payout.service_layer import handlers, payouts
from shared.clock import utcnow
from shared.messaging.uow import run
from tests.integration.conftest import build_service
from tests.support.clock import ManualClock
from tests.support.processors import FakePayoutProcessor

pytestmark = pytest.mark.faults

LEASE_S, DEADLINE_S = 10, 6  # the processor answers within 6 s (one 6 s attempt), under the 10 s lease
WORKER_ENV = {
    "PAYOUT_WORKER_LEASE_SECONDS": str(LEASE_S),
    "PAYOUT_PROCESSOR_TIMEOUT_MS": str(DEADLINE_S * 1000),
    "PAYOUT_PROCESSOR_ATTEMPTS": "1",
    "PAYOUT_MAX_ATTEMPTS": "1",  # a second claim only looks up: none found fails it
}
WAIT_S = 30  # a handshake that does not come in this long is a failure, never a hang


@pytest.fixture
def audited():
    """In process, on databases of its own: the suite's stack and its auditor are not involved."""
    yield


class SlowProcessor(FakePayoutProcessor):
    """Sends from the slow thread stop until the test lets them go, then answer at the deadline
    (the clock moves on by it); an account starting with `lost` is paid but its answer is lost.
    `paid` counts the payouts actually made per id."""

    def __init__(self, clock: ManualClock):
        super().__init__()
        self.clock, self.slow_thread = clock, None
        self.in_send: queue.Queue = queue.Queue()  # the slow thread is in a send (payout id), or done (None)
        self.go: queue.Queue = queue.Queue()
        self.senders: set[str] = set()

    def send(self, **asked) -> PayoutResult:
        self.senders.add(threading.current_thread().name)
        if threading.current_thread() is self.slow_thread:
            self.in_send.put(asked["payout_id"])
            self.go.get(timeout=WAIT_S)
            self.clock.advance(DEADLINE_S)
        result = super().send(**asked)
        return PayoutResult(UNKNOWN) if asked["account"].startswith("lost") else result

    @property
    def paid(self) -> dict[str, int]:
        return {payout_id: 1 for payout_id, result in self.payouts.items() if result.outcome == "paid"}


def seed(svc, accounts: list[str]) -> list[str]:
    """A creator per account with 40,000 diamonds, each asking for $100 (20,000 diamonds)."""
    ids = []
    for n, account in enumerate(accounts):
        creator = f"creator-{n}"
        run(
            handlers.register_creator,
            RegisterCreator(
                creator_id=creator,
                country="US",
                birth_date=date(1990, 1, 1),
                payout_method="bank",
                payout_account=account,
            ),
            uow=svc.uow(),
            rules=svc.settings.rules,
        )
        run(
            handlers.credit_earnings,
            [
                CreditEarnings(
                    gift_tx_id=str(uuid.uuid4()), creator_id=creator, sender_id="v", diamonds=40_000, sent_at=utcnow()
                )
            ],
            uow=svc.uow(),
            rules=svc.settings.rules,
        )
        ids.append(
            run(
                handlers.request_withdrawal,
                RequestWithdrawal(creator_id=creator, amount_minor=10_000),
                uow=svc.uow(),
                rules=svc.settings.rules,
            ).withdrawal_id
        )
    return ids


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_two_workers_never_pay_a_withdrawal_twice_nor_pay_and_return_it(backend, pg_url, tmp_path, monkeypatch):
    url = pg_url("payout") if backend == "postgres" else f"sqlite:///{tmp_path}/payout.db"
    clock = ManualClock().pin(monkeypatch, payouts)
    processor = SlowProcessor(clock)
    worker_a, _ = build_service("payout", url, processor=processor, **WORKER_ENV)
    worker_b, _ = build_service("payout", url, processor=processor, **WORKER_ENV)
    try:
        ids = seed(worker_a, ["DE89-0", "DE89-1", "lost-2", "DE89-3", "DE89-4", "DE89-5"])
        errors: list[BaseException] = []

        def run_a():
            try:
                while run_once(worker_a):
                    pass
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                processor.in_send.put(None)

        thread = threading.Thread(target=run_a, name="worker-a")
        processor.slow_thread = thread
        thread.start()
        while processor.in_send.get(timeout=WAIT_S) is not None:  # A is in a send: B takes a turn
            run_once(worker_b)
            processor.go.put(True)
        thread.join(WAIT_S)
        assert not thread.is_alive() and errors == []
        clock.advance(3_600)  # every lease, landing and next check over: both finish what is left
        while run_once(worker_a) + run_once(worker_b):
            clock.advance(3_600)

        with worker_a.engine.connect() as conn:
            rows = {r.withdrawal_id: r for r in conn.execute(sa.select(withdrawals))}
            accounts = list(conn.execute(sa.select(creator_accounts)))
        paid = processor.paid
        assert all(processor.calls[i] >= 1 for i in ids) and sum(paid.values()) == len(paid)  # each at most once
        both = [i for i in ids if i in paid and rows[i].status == "failed"]
        assert both == [], f"paid by the processor and their diamonds returned: {both}"
        assert {i: rows[i].status for i in ids} == {i: "completed" for i in ids}
        assert sorted(paid) == sorted(ids)
        assert processor.senders == {"worker-a", threading.current_thread().name}  # both workers sent payouts
        for acc in accounts:  # conserved: nothing reserved is left, what was paid is withdrawn, the rest available
            assert (acc.credited_diamonds, acc.reserved_diamonds, acc.withdrawn_diamonds) == (40_000, 0, 20_000)
    finally:
        worker_a.engine.dispose()
        worker_b.engine.dispose()
