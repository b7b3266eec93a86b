"""The payout worker's claims, lookups and holds, on the in-memory unit of work, the in-memory
payout processor and a clock moved by hand: a lapsed claim can neither send nor settle, an
unknown outcome is looked up before anything is sent again, an unreachable processor never fails
a payout, a mismatched answer or a rule that changed holds it, and an operator releases or fails it."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from services.payout.adapters.processor import FAILED as FAILED_PAYOUT
from services.payout.adapters.processor import PAID, UNKNOWN, PayoutResult
from services.payout.domain.commands import CreditEarnings, RegisterCreator, RequestWithdrawal
from services.payout.domain.errors import PayoutMayHaveBeenPaid, WithdrawalNotHeld
from services.payout.domain.model import COMPLETED, FAILED, HELD, PENDING, PROCESSING
from services.payout.domain.rules import PayoutPolicy, PayoutRules
from services.payout.service_layer import handlers, payouts
from shared.clock import utcnow
from shared.messaging.uow import run
from tests.fakes.payout import FakePayoutUnitOfWork
from tests.support.clock import ManualClock
from tests.support.processors import FakePayoutProcessor

RULES = PayoutRules()
POLICY = PayoutPolicy(lease_seconds=60, max_attempts=3, deadline_seconds=10, check_backoff_seconds=5)


@pytest.fixture
def uow() -> FakePayoutUnitOfWork:
    return FakePayoutUnitOfWork()


@pytest.fixture
def clock(monkeypatch) -> ManualClock:
    return ManualClock().pin(monkeypatch, payouts)


def creator_withdraws(uow, creator_id: str = "creator", account: str = "DE89-1", amount_minor: int = 10_000):
    run(
        handlers.register_creator,
        RegisterCreator(
            creator_id=creator_id,
            country="US",
            birth_date=date(1990, 1, 1),
            payout_method="bank",
            payout_account=account,
        ),
        uow=uow,
        rules=RULES,
    )
    run(
        handlers.credit_earnings,
        [
            CreditEarnings(
                gift_tx_id=f"gift-{creator_id}", creator_id=creator_id, sender_id="v", diamonds=40_000, sent_at=utcnow()
            )
        ],
        uow=uow,
        rules=RULES,
    )
    return run(
        handlers.request_withdrawal,
        RequestWithdrawal(creator_id=creator_id, amount_minor=amount_minor),
        uow=uow,
        rules=RULES,
    )


def turn(uow, processor, rules=RULES, policy=POLICY):
    """One worker's turn: claim one withdrawal, bring it forward; None if nothing was due."""
    claim = payouts.claim_next(uow=uow, lease_seconds=policy.lease_seconds)
    return claim and payouts.pay_out(claim, uow=uow, processor=processor, rules=rules, policy=policy)


def stored(uow, withdrawal_id: str):
    return uow.committed["withdrawals"][withdrawal_id]


def account(uow, creator_id: str = "creator"):
    return uow.committed["accounts"][creator_id]


class LostAnswers(FakePayoutProcessor):
    """Pays like the fake, but the send's answer is lost (UNKNOWN); lookups answer `lookups`."""

    def __init__(self, lookups: str = "real"):
        super().__init__()
        self.lookups = lookups

    def send(self, **asked) -> PayoutResult:
        super().send(**asked)
        return PayoutResult(UNKNOWN)

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        return PayoutResult(UNKNOWN) if self.lookups == "unreachable" else super().lookup(payout_id=payout_id)


class Tampered(FakePayoutProcessor):
    """Pays, but answers with another amount, currency, id or reference than it was asked for."""

    def __init__(self, **changes):
        super().__init__()
        self.changes = changes

    def send(self, **asked) -> PayoutResult:
        return dataclasses.replace(super().send(**asked), **self.changes)


def test_a_send_may_leave_only_within_the_lease_its_fence_renewed(uow, clock):
    """The processor is told the lease's end (`send_by`): a request held up past it (a name lookup,
    a stall) is not written, so another worker finding no payout once the landing window ends may
    fail the withdrawal and return its diamonds without it being paid as well."""
    asked = creator_withdraws(uow)
    processor = FakePayoutProcessor()
    assert turn(uow, processor).outcome == COMPLETED
    sent_by = processor.sent_by[asked.withdrawal_id]
    assert (
        sent_by == stored(uow, asked.withdrawal_id).last_send_until == clock() + timedelta(seconds=POLICY.lease_seconds)
    )


def test_a_lapsed_claim_can_neither_send_nor_settle(uow, clock):
    asked = creator_withdraws(uow)
    processor = FakePayoutProcessor()
    first = payouts.claim_next(uow=uow, lease_seconds=60)
    clock.advance(61)  # its worker stalled past its lease; another claims the withdrawal
    second = payouts.claim_next(uow=uow, lease_seconds=60)
    assert (first.claim_version, second.claim_version) == (1, 2)
    stale = payouts.pay_out(first, uow=uow, processor=processor, rules=RULES, policy=POLICY)
    assert stale.outcome == payouts.SETTLED_ELSEWHERE and processor.calls[asked.withdrawal_id] == 0  # never sent
    paid = PayoutResult(PAID, reference="po_x", payout_id=asked.withdrawal_id, net_minor=10_000, currency="USD")
    assert payouts.settle_payout(first, uow=uow, result=paid).outcome == payouts.SETTLED_ELSEWHERE
    assert stored(uow, asked.withdrawal_id).status == PROCESSING and uow.events() == []
    assert payouts.pay_out(second, uow=uow, processor=processor, rules=RULES, policy=POLICY).outcome == COMPLETED
    assert processor.calls[asked.withdrawal_id] == 1


def test_a_claim_whose_lease_ran_out_is_not_renewed_for_a_send_even_if_nobody_took_it(uow, clock):
    asked = creator_withdraws(uow)
    processor = FakePayoutProcessor()
    claim = payouts.claim_next(uow=uow, lease_seconds=60)
    clock.advance(60)
    assert payouts.pay_out(claim, uow=uow, processor=processor, rules=RULES, policy=POLICY).outcome == (
        payouts.SETTLED_ELSEWHERE
    )
    assert processor.calls[asked.withdrawal_id] == 0


def test_a_lost_answer_is_looked_up_not_sent_again_and_a_found_payout_settles_it(uow, clock):
    asked = creator_withdraws(uow)
    processor = LostAnswers()
    assert turn(uow, processor).outcome == payouts.STILL_UNKNOWN  # paid, but the answer was lost
    assert turn(uow, processor) is None  # not due before its own next check
    clock.advance(5)
    assert turn(uow, processor).outcome == COMPLETED  # looked up: found paid
    assert processor.calls[asked.withdrawal_id] == 1
    assert (account(uow).reserved_diamonds, account(uow).withdrawn_diamonds) == (0, 20_000)


def test_nothing_found_is_sent_again_only_once_no_earlier_send_can_still_land(uow, clock):
    asked = creator_withdraws(uow, account="error-lost")  # the processor never records it
    processor = FakePayoutProcessor()
    assert turn(uow, processor).outcome == payouts.STILL_UNKNOWN
    clock.advance(5)
    assert turn(uow, processor).outcome == payouts.STILL_UNKNOWN  # none found, but the send may still land
    assert processor.calls[asked.withdrawal_id] == 1
    landing_ends = stored(uow, asked.withdrawal_id).next_check_at
    assert landing_ends == POLICY.landing_ends(stored(uow, asked.withdrawal_id).last_send_until)
    clock.advance((landing_ends - clock()).total_seconds() - 1)
    assert turn(uow, processor) is None
    clock.advance(1)
    assert turn(uow, processor).outcome == payouts.STILL_UNKNOWN  # none found, none can land: sent again
    assert processor.calls[asked.withdrawal_id] == 2


class Unreachable(FakePayoutProcessor):
    """Every send's answer is lost and nothing is recorded (the processor 503s), lookups find none."""

    def send(self, **asked) -> PayoutResult:
        self.calls[asked["payout_id"]] += 1
        return PayoutResult(UNKNOWN)


def test_a_lookup_begun_inside_the_landing_window_is_not_proof_that_nothing_was_paid(uow, clock):
    """Worker A fences its last allowed send (attempt max_attempts) and dies mid-send: its request,
    written just before its lease ended, is still on its way to the processor. Worker B claims the
    withdrawal as soon as the lease lapses and looks it up: the processor answers "none" (A's request
    has not landed yet), but the answer reaches B a few seconds later (a lookup may take up to the
    processor's deadline, like any call). By then `utcnow() >= landing_ends`, so B treats the stale
    "none" as final and fails the withdrawal, returning its diamonds. A's request lands inside the
    landing window and is paid: the creator is paid AND gets the diamonds back."""
    asked = creator_withdraws(uow)
    wid = asked.withdrawal_id
    down = Unreachable()
    # Attempts 1 .. max_attempts-1: answers lost, nothing recorded; waited out and looked up each time.
    while stored(uow, wid).attempts < POLICY.max_attempts - 1:
        attempt = turn(uow, down, policy=POLICY)
        assert attempt is not None and attempt.outcome == payouts.STILL_UNKNOWN
        clock.advance((stored(uow, wid).next_check_at - clock()).total_seconds())
    while True:  # bring it to the point where the next turn sends (landing of the last send over)
        row = stored(uow, wid)
        if row.next_check_at is not None and row.next_check_at >= POLICY.landing_ends(row.last_send_until):
            clock.advance((row.next_check_at - clock()).total_seconds())
            break
        assert turn(uow, down, policy=POLICY).outcome == payouts.STILL_UNKNOWN
        clock.advance((stored(uow, wid).next_check_at - clock()).total_seconds())

    # Worker A: claims, fences its send (attempt == max_attempts) and writes the request, then dies.
    claim_a = payouts.claim_next(uow=uow, lease_seconds=POLICY.lease_seconds)
    assert payouts._fence_send(claim_a, uow=uow, rules=RULES, policy=POLICY) is None
    assert claim_a.attempts == POLICY.max_attempts
    lease_end = claim_a.last_send_until

    processor = FakePayoutProcessor()

    def lookup(*, payout_id: str):
        answer = processor.payouts.get(payout_id)  # answered at lease_end + 1 s: nothing there yet
        # A's request, written before its lease ended, lands at lease_end + 3 s (< landing_ends) and
        # is paid; B's answer arrives at lease_end + 10.5 s (the lookup within the 10 s deadline).
        processor.payouts[payout_id] = PayoutResult(
            PAID, reference="po_late", payout_id=payout_id, net_minor=asked.net_minor, currency="USD"
        )
        clock.advance(9.5)
        return answer

    processor.lookup = lookup

    # Worker B: A's lease has lapsed; B claims and looks it up.
    clock.advance((lease_end - clock()).total_seconds() + 1)
    claim_b = payouts.claim_next(uow=uow, lease_seconds=POLICY.lease_seconds)
    assert claim_b is not None and claim_b.attempts == POLICY.max_attempts
    attempt = payouts.pay_out(claim_b, uow=uow, processor=processor, rules=RULES, policy=POLICY)

    paid_by_processor = processor.payouts[wid].outcome == PAID
    returned = stored(uow, wid).status == FAILED and account(uow).reserved_diamonds == 0
    assert not (paid_by_processor and returned), (
        f"withdrawal {attempt.outcome}: the processor paid it and its {asked.diamonds} diamonds were returned"
    )


def test_an_unreachable_processor_leaves_the_payout_in_flight_past_every_attempt_on_its_own_backoff(uow, clock):
    asked = creator_withdraws(uow)
    processor = LostAnswers(lookups="unreachable")
    assert turn(uow, processor).outcome == payouts.STILL_UNKNOWN
    waits = []
    for _ in range(12):  # far more checks than attempts: never failed, never sent again
        row = stored(uow, asked.withdrawal_id)
        waits.append((row.next_check_at - clock()).total_seconds())
        clock.advance(waits[-1])
        assert turn(uow, processor).outcome == payouts.STILL_UNKNOWN
    row = stored(uow, asked.withdrawal_id)
    assert (row.status, processor.calls[asked.withdrawal_id]) == (PROCESSING, 1)
    assert waits[:4] == [5, 10, 20, 40] and max(waits) == POLICY.check_backoff_max_seconds
    assert account(uow).reserved_diamonds == 20_000


def test_a_payout_waiting_on_its_lookups_never_holds_up_new_ones(uow, clock):
    stuck = creator_withdraws(uow, creator_id="stuck")
    processor = LostAnswers(lookups="unreachable")
    turn(uow, processor)
    fine = [creator_withdraws(uow, creator_id=f"fine-{i}") for i in range(3)]
    honest = FakePayoutProcessor()
    assert [turn(uow, honest).outcome for _ in fine] == [COMPLETED] * 3
    assert turn(uow, honest) is None and stored(uow, stuck.withdrawal_id).status == PROCESSING


@pytest.mark.parametrize("reference", ["po_" + "x" * 120, "po_\x00"])
def test_a_payout_paid_as_asked_with_a_reference_we_cannot_keep_completes_without_it(uow, clock, reference):
    """The processor paid what we asked; only its reference is too long, or unprintable (PostgreSQL
    refuses a NUL): completed, the reference not kept (the processor finds it by our id)."""
    asked = creator_withdraws(uow)
    assert turn(uow, Tampered(reference=reference)).outcome == COMPLETED
    assert stored(uow, asked.withdrawal_id).processor_ref is None
    assert account(uow).withdrawn_diamonds == 20_000


@pytest.mark.parametrize(
    ("changes", "wrong"),
    [
        ({"net_minor": 1}, "net_minor 1"),
        ({"currency": "EUR"}, "currency 'EUR'"),
        ({"payout_id": "x"}, "payout_id"),
    ],
)
def test_an_answer_for_another_amount_currency_or_id_holds_the_withdrawal(uow, clock, changes, wrong):
    asked = creator_withdraws(uow)
    attempt = turn(uow, Tampered(**changes))
    assert (attempt.outcome, attempt.reason) == (HELD, "answer_mismatch")
    row = stored(uow, asked.withdrawal_id)
    assert row.status == HELD and wrong in row.held_reason
    assert (account(uow).reserved_diamonds, account(uow).withdrawn_diamonds) == (20_000, 0)  # still reserved
    assert uow.events() == [] and turn(uow, FakePayoutProcessor()) is None  # not claimed again


def test_an_operator_cannot_fail_a_held_withdrawal_the_processor_may_have_paid(uow, clock):
    """Held for an answer that did not match, a withdrawal was sent: failing it (its diamonds
    returned) is refused while the processor holds a payout of it, or cannot be asked."""
    asked = creator_withdraws(uow)
    processor = Tampered(net_minor=1)  # it paid, and answered another amount
    assert turn(uow, processor).reason == "answer_mismatch"

    def fail():
        return payouts.fail_held(asked.withdrawal_id, reason="ops: mismatch", uow=uow, processor=processor)

    with pytest.raises(PayoutMayHaveBeenPaid, match="holds a payout of it"):
        fail()
    processor.payouts[asked.withdrawal_id] = PayoutResult(UNKNOWN)  # unreachable
    with pytest.raises(PayoutMayHaveBeenPaid, match="cannot be asked"):
        fail()
    for other in ("someone-elses", None):
        processor.payouts[asked.withdrawal_id] = PayoutResult(
            FAILED_PAYOUT, payout_id=other, net_minor=10_000, currency="USD"
        )  # a failed payout, but not this one (or not said which): it says nothing of ours
        with pytest.raises(PayoutMayHaveBeenPaid, match="not this one"):
            fail()
    assert stored(uow, asked.withdrawal_id).status == HELD and account(uow).reserved_diamonds == 20_000
    processor.payouts[asked.withdrawal_id] = PayoutResult(
        FAILED_PAYOUT, failure_reason="reversed", payout_id=asked.withdrawal_id
    )  # the processor reversed it after all: ours, failed (its amount left out: nothing was paid)
    assert fail().status == FAILED and account(uow).reserved_diamonds == 0


def test_a_looked_up_answer_is_checked_too(uow, clock):
    asked = creator_withdraws(uow)
    processor = LostAnswers()
    turn(uow, processor)
    processor.payouts[asked.withdrawal_id] = dataclasses.replace(processor.payouts[asked.withdrawal_id], net_minor=9)
    clock.advance(5)
    assert turn(uow, processor).outcome == HELD
    assert stored(uow, asked.withdrawal_id).held_reason.startswith("answer_mismatch")


def test_a_creator_whose_country_became_blocked_is_held_then_released_and_paid(uow, clock):
    asked = creator_withdraws(uow)
    processor, blocked = FakePayoutProcessor(), dataclasses.replace(RULES, blocked_countries=frozenset({"US"}))
    attempt = turn(uow, processor, rules=blocked)
    assert (attempt.outcome, attempt.reason) == (HELD, "country_blocked")
    assert processor.calls[asked.withdrawal_id] == 0 and account(uow).reserved_diamonds == 20_000
    assert [w.withdrawal_id for w in run(payouts.held_withdrawals, uow=uow)] == [asked.withdrawal_id]
    assert run(payouts.release_held, asked.withdrawal_id, uow=uow).status == PENDING  # never sent: as new
    assert turn(uow, processor).outcome == COMPLETED
    assert run(payouts.held_withdrawals, uow=uow) == [] and account(uow).withdrawn_diamonds == 20_000


def test_a_creator_under_review_is_held_then_failed_by_an_operator_and_gets_the_diamonds_back(uow, clock):
    asked = creator_withdraws(uow)
    assert run(payouts.set_under_review, "creator", True, uow=uow)
    processor = FakePayoutProcessor()
    assert turn(uow, processor).reason == "under_review"
    failed = payouts.fail_held(asked.withdrawal_id, reason="fraud review: account closed", uow=uow, processor=processor)
    assert (failed.status, failed.failure_reason) == (FAILED, "fraud review: account closed")
    assert (account(uow).reserved_diamonds, run(handlers.earnings_of, "creator", uow=uow).available) == (0, 40_000)
    [(kind, data)] = uow.events()
    assert (kind, data["withdrawal_id"], data["diamonds"]) == ("withdrawal.failed", asked.withdrawal_id, 20_000)
    assert processor.calls[asked.withdrawal_id] == 0
    with pytest.raises(WithdrawalNotHeld):
        run(payouts.release_held, asked.withdrawal_id, uow=uow)


def test_a_held_withdrawal_that_was_sent_before_is_looked_up_first_when_released(uow, clock):
    asked = creator_withdraws(uow)
    tampered = Tampered(currency="EUR")
    turn(uow, tampered)
    assert run(payouts.release_held, asked.withdrawal_id, uow=uow).status == PROCESSING
    honest = FakePayoutProcessor()
    honest.payouts = {
        asked.withdrawal_id: PayoutResult(
            PAID, reference="po_1", payout_id=asked.withdrawal_id, net_minor=10_000, currency="USD"
        )
    }
    assert turn(uow, honest).outcome == COMPLETED
    assert honest.calls[asked.withdrawal_id] == 0  # found by the lookup, not sent again
    assert tampered.calls[asked.withdrawal_id] == 1


def test_a_lease_that_does_not_outlast_the_processors_deadline_is_a_configuration_error():
    from services.payout.settings import load_settings
    from shared.env import ConfigError

    env = {"COINS_ENV": "test", "PAYOUT_PROCESSOR_TIMEOUT_MS": "4000", "PAYOUT_PROCESSOR_ATTEMPTS": "3"}
    with pytest.raises(ConfigError, match="PAYOUT_WORKER_LEASE_SECONDS"):
        load_settings({**env, "PAYOUT_WORKER_LEASE_SECONDS": "12"})  # three 4 s tries (and backoff) take longer
    policy = load_settings({**env, "PAYOUT_WORKER_LEASE_SECONDS": "20"}).worker_policy
    assert policy.deadline_seconds < policy.lease_seconds == 20
