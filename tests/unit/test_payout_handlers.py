"""The payout service's handlers told as money stories, on the in-memory unit of work and the
in-memory payout processor (no database, no broker, no sandbox)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.payout.domain.commands import (
    ChangePayoutMethod,
    CreditEarnings,
    LiftMethodHold,
    RegisterCreator,
    RequestWithdrawal,
)
from services.payout.domain.errors import (
    BelowMinimumWithdrawal,
    CreatorAlreadyRegistered,
    CreatorNotRegistered,
    CreatorTooYoung,
    DailyCapExceeded,
    HeldForGood,
    InsufficientEarnings,
    NoMethodHold,
)
from services.payout.domain.model import COMPLETED, FAILED, HELD, PROCESSING
from services.payout.domain.rules import PayoutPolicy, PayoutRules
from services.payout.service_layer import handlers, payouts
from shared.clock import utcnow
from shared.messaging.uow import run
from tests.fakes.payout import FakePayoutUnitOfWork
from tests.support.clock import ManualClock
from tests.support.processors import FakePayoutProcessor

RULES = PayoutRules()


@pytest.fixture
def uow() -> FakePayoutUnitOfWork:
    return FakePayoutUnitOfWork()


@pytest.fixture
def clock(monkeypatch) -> ManualClock:
    return ManualClock().pin(monkeypatch, payouts)


def register(uow, creator_id: str = "creator", method: str = "bank", account: str = "DE89-1", rules=RULES):
    return run(
        handlers.register_creator,
        RegisterCreator(
            creator_id=creator_id,
            country="US",
            birth_date=date(1995, 3, 1),
            payout_method=method,
            payout_account=account,
        ),
        uow=uow,
        rules=rules,
    )


def earn(uow, diamonds: int, creator_id: str = "creator", gift_tx_id: str | None = None, rules=RULES) -> None:
    run(
        handlers.credit_earnings,
        [
            CreditEarnings(
                gift_tx_id=gift_tx_id or str(uuid.uuid4()),
                creator_id=creator_id,
                sender_id="viewer",
                diamonds=diamonds,
                sent_at=utcnow(),
            )
        ],
        uow=uow,
        rules=rules,
    )


def withdraw(uow, amount_minor: int, creator_id: str = "creator", rules=RULES):
    return run(
        handlers.request_withdrawal,
        RequestWithdrawal(creator_id=creator_id, amount_minor=amount_minor),
        uow=uow,
        rules=rules,
    )


def pay_everything(uow, processor, policy: PayoutPolicy = PayoutPolicy(), rules=RULES) -> list:
    """One worker's turns until nothing is due now; the withdrawals as each turn left them."""
    done = []
    while (claim := payouts.claim_next(uow=uow, lease_seconds=policy.lease_seconds)) is not None:
        done.append(payouts.pay_out(claim, uow=uow, processor=processor, rules=rules, policy=policy).withdrawal)
    return done


def test_a_creator_withdraws_100_dollars_of_40000_diamonds_and_is_paid(uow):
    register(uow)
    earn(uow, 40_000)
    asked = withdraw(uow, 10_000)
    assert (asked.diamonds, asked.gross_minor, asked.fee_minor, asked.net_minor) == (20_000, 10_000, 0, 10_000)
    assert run(handlers.earnings_of, "creator", uow=uow).available == 20_000  # the rest is in flight
    [paid] = pay_everything(uow, FakePayoutProcessor())
    assert paid.status == COMPLETED
    earnings = run(handlers.earnings_of, "creator", uow=uow)
    assert (earnings.total, earnings.available, earnings.paid_out, earnings.in_flight) == (40_000, 20_000, 20_000, 0)
    assert uow.events() == [
        (
            "withdrawal.completed",
            {
                "withdrawal_id": asked.withdrawal_id,
                "creator_id": "creator",
                "diamonds": 20_000,
                "gross_minor": 10_000,
                "fee_minor": 0,
                "net_minor": 10_000,
                "currency": "USD",
                "reason": None,
            },
        )
    ]


def test_a_withdrawal_over_the_daily_cap_is_refused_and_reserves_nothing(uow):
    register(uow)
    earn(uow, 300_000)  # $1,500
    withdraw(uow, 60_000)
    with pytest.raises(DailyCapExceeded, match="40000 left"):
        withdraw(uow, 50_000)
    assert run(handlers.earnings_of, "creator", uow=uow).available == 300_000 - 120_000
    assert len(uow.committed["withdrawals"]) == 1


@pytest.mark.parametrize(
    ("creator_id", "amount_minor", "error"),
    [
        ("creator", 30_000, InsufficientEarnings),
        ("creator", 9_999, BelowMinimumWithdrawal),
        ("stranger", 10_000, CreatorNotRegistered),
    ],
)
def test_a_withdrawal_the_rules_refuse_leaves_the_earnings_untouched(uow, creator_id, amount_minor, error):
    register(uow)
    earn(uow, 40_000)  # $200
    with pytest.raises(error):
        withdraw(uow, amount_minor, creator_id=creator_id)
    assert (run(handlers.earnings_of, "creator", uow=uow).available, uow.committed["withdrawals"]) == (40_000, {})


def test_a_failed_payout_returns_its_diamonds_and_frees_the_days_cap(uow):
    register(uow, account="fail-closed-account")
    earn(uow, 200_000)
    withdraw(uow, 100_000)  # the whole day's cap
    [failed] = pay_everything(uow, FakePayoutProcessor())
    assert (failed.status, failed.failure_reason) == (FAILED, "account_rejected")
    assert run(handlers.earnings_of, "creator", uow=uow).available == 200_000
    assert uow.events()[0][0] == "withdrawal.failed"
    assert withdraw(uow, 100_000).diamonds == 200_000  # the failed one no longer counts toward the cap


def test_a_payout_never_confirmed_is_failed_after_its_attempts_and_its_diamonds_return(uow, clock):
    register(uow, account="error-timeout")
    earn(uow, 40_000)
    withdraw(uow, 10_000)
    processor, policy = FakePayoutProcessor(), PayoutPolicy(max_attempts=2)
    for _ in range(2):  # the processor never answers: the withdrawal stays in flight
        [unknown] = pay_everything(uow, processor, policy)
        assert unknown.status == PROCESSING
        clock.advance(1_000)  # past its lease, the landing of its send and its next check
    [given_up] = pay_everything(uow, processor, policy)  # third claim: looked up, none found
    assert (given_up.status, given_up.failure_reason) == (FAILED, "not paid after 2 attempts")
    assert run(handlers.earnings_of, "creator", uow=uow).available == 40_000
    assert sum(processor.calls.values()) == 2


def test_paypal_takes_its_fee_out_of_the_gross_to_the_cent(uow):
    register(uow, method="paypal", account="creator@example.com")
    earn(uow, 40_000)
    asked = withdraw(uow, 12_300)
    assert (asked.gross_minor, asked.fee_minor, asked.net_minor) == (12_300, 246 + 25, 12_300 - 271)
    assert asked.gross_minor == asked.net_minor + asked.fee_minor


def test_a_gift_delivered_twice_is_credited_once_one_by_one_or_in_a_batch(uow):
    earn(uow, 500, gift_tx_id="gift-1")
    earn(uow, 500, gift_tx_id="gift-1")
    again = [
        CreditEarnings(gift_tx_id=g, creator_id="creator", sender_id="viewer", diamonds=300, sent_at=utcnow())
        for g in ("gift-1", "gift-2", "gift-2")
    ]
    run(handlers.credit_earnings, again, uow=uow, rules=RULES)
    assert run(handlers.earnings_of, "creator", uow=uow).total == 800


def test_held_earnings_are_pending_and_cannot_be_withdrawn(uow):
    held = PayoutRules(hold_seconds=3_600)
    register(uow)
    earn(uow, 40_000, rules=held)
    earnings = run(handlers.earnings_of, "creator", uow=uow)
    assert (earnings.total, earnings.pending, earnings.available) == (40_000, 40_000, 0)
    with pytest.raises(InsufficientEarnings):
        withdraw(uow, 10_000, rules=held)


def test_registering_again_changes_nothing_and_a_new_method_is_changed_and_recorded(uow):
    assert register(uow)[1] is True
    assert register(uow)[1] is False
    with pytest.raises(CreatorAlreadyRegistered):
        register(uow, account="somewhere-else")
    run(
        handlers.change_payout_method,
        ChangePayoutMethod(
            creator_id="creator",
            payout_method="paypal",
            payout_account="c@example.com",
            changed_by="gateway",
            requested_by="creator",
        ),
        uow=uow,
        rules=RULES,
    )
    [change] = run(handlers.payout_method_changes, "creator", uow=uow)
    assert (change.old_method, change.new_method, change.changed_by) == ("bank", "paypal", "gateway")
    assert change.requested_by == "creator"
    assert change.hold_until == change.changed_at + timedelta(seconds=RULES.method_change_hold_seconds)
    [(kind, data)] = [event for event in uow.events() if event[0] == "payout_method.changed"]
    assert data["new_account"] == "*********.com" and data["hold_until"] == change.hold_until.isoformat()
    earn(uow, 40_000)
    waiting = withdraw(uow, 10_000)  # accepted, its diamonds reserved, sent once the hold ends
    assert waiting.send_after == change.hold_until and waiting.payout_method == "paypal"
    assert run(lambda *, uow: uow.withdrawals.next_due(utcnow()), uow=uow) is None  # no worker takes it yet
    due = run(lambda *, uow: uow.withdrawals.next_due(change.hold_until), uow=uow)
    assert due is not None and due.withdrawal_id == waiting.withdrawal_id
    with pytest.raises(CreatorTooYoung):
        run(
            handlers.register_creator,
            RegisterCreator(
                creator_id="kid", country="US", birth_date=date.today(), payout_method="bank", payout_account="x"
            ),
            uow=uow,
            rules=RULES,
        )


def change_method(uow, method: str, account: str, rules=RULES) -> None:
    run(
        handlers.change_payout_method,
        ChangePayoutMethod(
            creator_id="creator",
            payout_method=method,
            payout_account=account,
            changed_by="gateway",
            requested_by="creator",
        ),
        uow=uow,
        rules=rules,
    )


def test_a_withdrawal_waiting_out_a_hold_is_paid_after_it_but_held_if_the_method_changed_again(uow, clock):
    """The hold lets the real owner undo a hijacked change: a withdrawal asked for in it, to the
    hijacker's account, must not be paid once the change is undone; one whose destination stands is."""
    rules = PayoutRules(method_change_hold_seconds=3600)
    register(uow, rules=rules)
    earn(uow, 80_000, rules=rules)
    change_method(uow, "paypal", "thief@example.com", rules=rules)
    hijacked = withdraw(uow, 10_000, rules=rules)
    assert hijacked.send_after is not None and pay_everything(uow, FakePayoutProcessor(), rules=rules) == []
    change_method(uow, "bank", "DE89-1", rules=rules)  # the owner undoes it (a new hold starts)
    standing = withdraw(uow, 10_000, rules=rules)  # to the owner's own account, after the hold
    clock.advance(3 * 3600)
    processor = FakePayoutProcessor()
    done = {w.withdrawal_id: w for w in pay_everything(uow, processor, rules=rules)}
    assert done[hijacked.withdrawal_id].status == HELD
    assert done[hijacked.withdrawal_id].held_reason.startswith("method_changed")
    assert processor.calls[hijacked.withdrawal_id] == 0  # nothing sent to the hijacker
    assert done[standing.withdrawal_id].status == COMPLETED and processor.calls[standing.withdrawal_id] == 1
    with pytest.raises(HeldForGood, match="Fail it"):  # released, it would only be held again
        run(payouts.release_held, hijacked.withdrawal_id, uow=uow)
    failed = payouts.fail_held(hijacked.withdrawal_id, reason="hijack undone", uow=uow, processor=processor)
    assert failed.status == "failed"


def test_a_hijack_undone_then_redone_is_held_not_paid_when_the_first_hold_ends(uow, clock):
    """Undone, then redone: when the first change's hold ends the withdrawal's destination matches
    the creator's method again, but the redo's own hold still runs, so it is held, not paid."""
    rules = PayoutRules(method_change_hold_seconds=3600)
    register(uow, rules=rules)
    earn(uow, 80_000, rules=rules)
    change_method(uow, "paypal", "thief@example.com", rules=rules)  # t0: hijacked, held to t0+60'
    hijacked = withdraw(uow, 10_000, rules=rules)
    clock.advance(10 * 60)
    change_method(uow, "bank", "DE89-1", rules=rules)  # the owner undoes it
    clock.advance(40 * 60)
    change_method(uow, "paypal", "thief@example.com", rules=rules)  # t0+50': redone, held to t0+110'
    clock.advance(10 * 60 + 1)  # the first hold is over, the redo's is not
    processor = FakePayoutProcessor()
    [done] = pay_everything(uow, processor, rules=rules)
    assert done.withdrawal_id == hijacked.withdrawal_id and done.status == HELD
    assert done.held_reason.startswith("method_changed") and processor.calls[hijacked.withdrawal_id] == 0


def lift_hold(uow, creator_id: str = "creator"):
    return run(
        handlers.lift_method_hold,
        LiftMethodHold(creator_id=creator_id, lifted_by="ops", requested_by="alice", reason="owner confirmed"),
        uow=uow,
    )


def test_an_operator_lifts_a_hold_and_the_waiting_withdrawal_is_sent_now_recorded_with_who_and_why(uow):
    rules = PayoutRules(method_change_hold_seconds=3600)
    register(uow, rules=rules)
    earn(uow, 80_000, rules=rules)
    change_method(uow, "paypal", "new@example.com", rules=rules)
    waiting = withdraw(uow, 10_000, rules=rules)
    assert pay_everything(uow, FakePayoutProcessor(), rules=rules) == []  # it waits out the hold
    change, released = lift_hold(uow)
    assert released == 1
    [(kind, data)] = [event for event in uow.events() if event[0] == "payout_method.hold_lifted"]
    assert {k: data[k] for k in ("change_id", "creator_id", "lifted_by", "requested_by", "reason")} == {
        "change_id": change.change_id,
        "creator_id": "creator",
        "lifted_by": "ops",
        "requested_by": "alice",
        "reason": "owner confirmed",
    }
    assert data["withdrawals_released"] == 1 and data["hold_until"] == change.hold_until.isoformat()
    assert (change.hold_lifted_by, change.hold_lift_requested_by, change.hold_lift_reason) == (
        "ops",
        "alice",
        "owner confirmed",
    )
    assert run(handlers.payout_method_changes, "creator", uow=uow)[0] == change  # the record keeps it
    processor = FakePayoutProcessor()
    assert [(w.withdrawal_id, w.status) for w in pay_everything(uow, processor, rules=rules)] == [
        (waiting.withdrawal_id, COMPLETED)
    ]
    assert withdraw(uow, 10_000, rules=rules).send_after is None  # no hold any more
    with pytest.raises(NoMethodHold):
        lift_hold(uow)


def test_lifting_a_hold_is_refused_when_none_runs_or_the_creator_is_unknown(uow):
    register(uow, rules=PayoutRules(method_change_hold_seconds=3600))
    written = len(uow.events())
    with pytest.raises(NoMethodHold):
        lift_hold(uow)  # registered, never changed
    change_method(uow, "paypal", "new@example.com", rules=PayoutRules(method_change_hold_seconds=0))
    with pytest.raises(NoMethodHold):
        lift_hold(uow)  # changed without a hold
    with pytest.raises(CreatorNotRegistered):
        lift_hold(uow, creator_id="nobody")
    assert [e for e in uow.events()[written:] if e[0] == "payout_method.hold_lifted"] == []  # a refusal tells no one
