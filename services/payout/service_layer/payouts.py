"""The payout worker's use cases (run by entrypoints/payout_worker.py): claim one due withdrawal,
send it to the payout processor (or look up what became of an earlier send), and settle it.

A withdrawal asked for through the API (handlers.request_withdrawal) is pending with its
diamonds reserved. A worker claims that one withdrawal (`claim_next`): the claim bumps its
`claim_version`, the fencing token. Right before a send, one conditional statement re-checks that
the token is unchanged and the lease still live, and renews the lease to cover the whole send
(the processor's deadline is shorter, a settings check); the settle re-checks the token. So only
the holder of a live claim sends, and a holder whose claim moved on records nothing.

An unknown outcome is never sent again blindly: the withdrawal is let go with a next check time
on its own backoff, and the next claim looks it up first. It is sent again (or, past the
attempts, failed) only if the processor has no record of it and no earlier send can still land.
A processor that cannot be reached leaves it in flight. A payout the rules forbid when its turn
comes (blocked country, creator under review), or that the processor answers for another id,
amount or currency, is held for an operator (`release_held`, `fail_held`), diamonds reserved.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from services.payout.adapters.processor import FAILED as FAILED_PAYOUT
from services.payout.adapters.processor import PAID, UNKNOWN, PayoutProcessor, PayoutResult
from services.payout.domain.errors import HeldForGood, PayoutMayHaveBeenPaid, WithdrawalNotFound, WithdrawalNotHeld
from services.payout.domain.model import COMPLETED, HELD, PROCESSING, Withdrawal
from services.payout.domain.rules import METHOD_CHANGED, PayoutPolicy, PayoutRules
from services.payout.service_layer.unit_of_work import AbstractUnitOfWork
from shared.clock import utcnow
from shared.contracts import WITHDRAWAL_COMPLETED, WITHDRAWAL_FAILED
from shared.db.engines import StaleRead
from shared.messaging.uow import transaction

STILL_UNKNOWN, SETTLED_ELSEWHERE = "still_unknown", "settled_elsewhere"


class PayoutAttempt(NamedTuple):
    """What one attempt left: the withdrawal, and what this attempt did to it: completed, failed or
    held it (`reason` says why), left it unknown (still_unknown), or found its claim gone
    (settled_elsewhere: another worker holds it now, or settled it)."""

    withdrawal: Withdrawal
    outcome: str
    reason: str | None = None


def claim_next(*, uow: AbstractUnitOfWork, lease_seconds: int) -> Withdrawal | None:
    """Claim the most due withdrawal for this worker, for `lease_seconds`, with a new claim token."""
    now = utcnow()
    with transaction(uow):
        withdrawal = uow.withdrawals.next_due(now)
        if withdrawal is None:
            return None
        token = withdrawal.claim_version
        withdrawal.claim(until=now + timedelta(seconds=lease_seconds))
        if not uow.withdrawals.update(withdrawal, claim_version=token):
            return None  # another worker claimed it between our read and our write: next time
    return withdrawal


def pay_out(
    claim: Withdrawal,
    *,
    uow: AbstractUnitOfWork,
    processor: PayoutProcessor,
    rules: PayoutRules,
    policy: PayoutPolicy,
) -> PayoutAttempt:
    """Bring one claimed withdrawal forward: look up an earlier send first, send if none can have
    paid it, settle by a known and checked answer, or let it go to be looked up later."""
    if claim.attempts > 0:  # sent before without a known outcome: look it up, never send blindly
        asked_at = utcnow()  # "none" speaks only of sends that reached the processor before it was asked
        found = processor.lookup(payout_id=claim.withdrawal_id)
        if found is not None and found.outcome == UNKNOWN:  # unreachable, or still processing there
            return _unclaim(claim, uow=uow, check_at=policy.next_check(utcnow(), claims=claim.claim_version))
        if found is not None:
            return settle_payout(claim, uow=uow, result=found)
        landing_ends = policy.landing_ends(claim.last_send_until or claim.created_at)
        if asked_at < landing_ends:  # an earlier send may land after the question: ask again then
            return _unclaim(claim, uow=uow, check_at=landing_ends)
        if claim.attempts >= policy.max_attempts:
            # Failing is safe: our claim's token replaced the last sender's, whose lease covered its
            # whole send and ended a full processor deadline ago, so no holder can still be sending.
            given_up = PayoutResult(FAILED_PAYOUT, failure_reason=f"not paid after {claim.attempts} attempts")
            return settle_payout(claim, uow=uow, result=given_up, answered=False)
    held = _fence_send(claim, uow=uow, rules=rules, policy=policy)
    if held is not None:
        return held
    result = processor.send(
        payout_id=claim.withdrawal_id,
        net_minor=claim.net_minor,
        currency=claim.currency,
        method=claim.payout_method,
        account=claim.payout_account,
        send_by=claim.last_send_until,  # the lease the fence renewed: no request leaves after it
    )
    if result.outcome == UNKNOWN:
        return _unclaim(claim, uow=uow, check_at=policy.next_check(utcnow(), claims=claim.claim_version))
    return settle_payout(claim, uow=uow, result=result)


def _fence_send(
    claim: Withdrawal, *, uow: AbstractUnitOfWork, rules: PayoutRules, policy: PayoutPolicy
) -> PayoutAttempt | None:
    """Right before a send: hold it if the rules now forbid paying it, else renew the live claim's
    lease for the send (one conditional statement); None means send."""
    now = utcnow()
    with transaction(uow):
        creator = uow.creators.get(claim.creator_id)
        # Moved: its method differs now, or was changed since it was asked for and changed back (a
        # hijack undone, then redone: the redo's own hold still runs). Only a method change moves
        # a creator's `updated_at` after registration.
        moved = claim.send_after is not None and (
            (creator.payout_method, creator.payout_account) != (claim.payout_method, claim.payout_account)
            or creator.updated_at > claim.created_at
        )
        reason = rules.pay_time_hold(
            country=creator.country, under_review=creator.under_review, destination_moved=moved
        )
        if reason is not None:
            return _hold(claim, uow=uow, reason=reason)
        until = now + timedelta(seconds=policy.lease_seconds)
        if not uow.withdrawals.fence_send(claim.withdrawal_id, claim_version=claim.claim_version, now=now, until=until):
            return PayoutAttempt(uow.withdrawals.get(claim.withdrawal_id), SETTLED_ELSEWHERE)
    claim.sending(until=until)
    return None


def settle_payout(
    claim: Withdrawal, *, uow: AbstractUnitOfWork, result: PayoutResult, answered: bool = True
) -> PayoutAttempt:
    """Record a withdrawal's known outcome and its event while our claim still holds: paid, or
    failed with its diamonds returned; held if the processor's answer is not about what we asked
    (`answered`: the result is the processor's, to be checked)."""
    mismatch = (
        result.mismatch(payout_id=claim.withdrawal_id, net_minor=claim.net_minor, currency=claim.currency)
        if answered
        else None
    )
    with transaction(uow):
        withdrawal = uow.withdrawals.get(claim.withdrawal_id, for_update=True)
        if withdrawal.status != PROCESSING or withdrawal.claim_version != claim.claim_version:
            return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)  # our claim lapsed: its holder looks it up
        if mismatch is not None:
            return _hold(claim, uow=uow, reason=f"answer_mismatch: {mismatch}")
        account = uow.accounts.get_or_create_for_update(withdrawal.creator_id)
        if result.outcome == PAID:
            account.pay_out(withdrawal.diamonds)
            withdrawal.complete(processor_ref=result.kept_reference, at=utcnow())
        else:
            account.release(withdrawal.diamonds)
            withdrawal.fail(reason=result.failure_reason or "failed", at=utcnow())
        if not uow.withdrawals.update(withdrawal, claim_version=claim.claim_version):
            return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)  # not ours any more: nothing written
        uow.accounts.save(account)
        paid = withdrawal.status == COMPLETED
        uow.outbox.add(WITHDRAWAL_COMPLETED if paid else WITHDRAWAL_FAILED, _withdrawal_settled(withdrawal))
    return PayoutAttempt(withdrawal, withdrawal.status)


def _hold(claim: Withdrawal, *, uow: AbstractUnitOfWork, reason: str) -> PayoutAttempt:
    """In the caller's transaction: hold the claimed withdrawal for an operator, diamonds reserved."""
    withdrawal = uow.withdrawals.get(claim.withdrawal_id, for_update=True)
    if withdrawal.status != PROCESSING or withdrawal.claim_version != claim.claim_version:
        return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)
    withdrawal.hold(reason=reason)
    if not uow.withdrawals.update(withdrawal, claim_version=claim.claim_version):
        return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)
    return PayoutAttempt(withdrawal, HELD, reason.split(":", 1)[0])


def _unclaim(claim: Withdrawal, *, uow: AbstractUnitOfWork, check_at) -> PayoutAttempt:
    """Let a withdrawal of unknown outcome go, to be looked up at `check_at` (by any worker)."""
    with transaction(uow):
        withdrawal = uow.withdrawals.get(claim.withdrawal_id, for_update=True)
        if withdrawal.status != PROCESSING or withdrawal.claim_version != claim.claim_version:
            return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)
        withdrawal.unclaim(check_at=check_at)
        if not uow.withdrawals.update(withdrawal, claim_version=claim.claim_version):
            return PayoutAttempt(withdrawal, SETTLED_ELSEWHERE)
    return PayoutAttempt(withdrawal, STILL_UNKNOWN)


def held_withdrawals(*, uow: AbstractUnitOfWork, limit: int = 100) -> list[Withdrawal]:
    """Withdrawals held for an operator, oldest first."""
    return uow.withdrawals.held(limit=limit)


def release_held(withdrawal_id: str, *, uow: AbstractUnitOfWork) -> Withdrawal:
    """An operator sends a held withdrawal back to the queue: paid if the rules allow when its turn
    comes (one sent before is looked up first). One held because its destination moved is refused
    (HeldForGood): that rule holds it for good, and only `fail_held` settles it."""
    withdrawal = _held(withdrawal_id, uow, lock=True)
    if (withdrawal.held_reason or "").startswith(f"{METHOD_CHANGED}:"):
        raise HeldForGood(
            f"Withdrawal {withdrawal_id} was asked for while a payout method change's hold ran, and the "
            "method has changed since: released, it would be held again. Fail it (its diamonds return) "
            "and the creator asks again, to the destination they hold now."
        )
    token = withdrawal.claim_version
    withdrawal.release_hold(at=utcnow())
    _store(withdrawal, token, uow)
    return withdrawal


def fail_held(withdrawal_id: str, *, reason: str, uow: AbstractUnitOfWork, processor: PayoutProcessor) -> Withdrawal:
    """An operator fails a held withdrawal: its diamonds return to the creator (withdrawal.failed).
    One sent before (held for an answer that did not match, say) is failed only if the processor
    answers that it has no payout of it, or a failed one: else its diamonds could be paid and
    returned both (PayoutMayHaveBeenPaid). The processor is asked before the row is locked; the
    locked row must be the one read then (held, sent as often, not claimed since), or the answer
    may be about a send made meanwhile (StaleRead: run it again). It begins and commits its own
    transactions: none is open while the processor is asked (on SQLite one would hold the
    database's write lock, the API and workers waiting on it, for the processor's deadline)."""
    with transaction(uow):
        sent = _held(withdrawal_id, uow, lock=False)
    if sent.attempts > 0:
        _processor_holds_no_payout(sent, processor.lookup(payout_id=withdrawal_id))
    with transaction(uow):
        withdrawal = _held(withdrawal_id, uow, lock=True)
        token = withdrawal.claim_version
        if (withdrawal.attempts, token) != (sent.attempts, sent.claim_version):
            raise StaleRead(f"withdrawal {withdrawal_id} changed")
        account = uow.accounts.get_or_create_for_update(withdrawal.creator_id)
        account.release(withdrawal.diamonds)
        withdrawal.fail(reason=reason, at=utcnow())
        withdrawal.claim_version += 1  # a lapsed claim of before the hold cannot act on it
        uow.accounts.save(account)
        _store(withdrawal, token, uow)
        uow.outbox.add(WITHDRAWAL_FAILED, _withdrawal_settled(withdrawal))
    return withdrawal


def _processor_holds_no_payout(sent: Withdrawal, found: PayoutResult | None) -> None:
    """Raise PayoutMayHaveBeenPaid unless the processor's answer says it has no payout of `sent`:
    none of its id, or a failed one of its id (nothing paid, whatever amount the answer names or
    leaves out). A "failed" about another payout says nothing of ours."""
    if found is None:
        return
    if found.outcome == FAILED_PAYOUT:
        if found.payout_id == sent.withdrawal_id:
            return
        what = f"answered a failed payout that is not this one (payout_id {found.payout_id!r})"
    elif found.outcome == UNKNOWN:
        what = "cannot be asked"
    else:
        what = f"holds a payout of it ({found.outcome})"
    raise PayoutMayHaveBeenPaid(f"Withdrawal {sent.withdrawal_id} was sent, and the processor {what}.")


def set_under_review(creator_id: str, under_review: bool, *, uow: AbstractUnitOfWork) -> bool:
    """Put a creator under review (their withdrawals are held when their turn comes) or clear it."""
    found = uow.creators.set_under_review(creator_id, under_review)
    return found


def _held(withdrawal_id: str, uow: AbstractUnitOfWork, *, lock: bool) -> Withdrawal:
    """The withdrawal (its row locked, with `lock`), refused unless it exists and is held."""
    withdrawal = uow.withdrawals.get(withdrawal_id, for_update=lock)
    if withdrawal is None:
        raise WithdrawalNotFound(f"There is no withdrawal {withdrawal_id}.")
    if withdrawal.status != HELD:
        raise WithdrawalNotHeld(f"Withdrawal {withdrawal_id} is {withdrawal.status}, not held.")
    return withdrawal


def _store(withdrawal: Withdrawal, token: int, uow: AbstractUnitOfWork) -> None:
    if not uow.withdrawals.update(withdrawal, claim_version=token):
        raise StaleRead(f"withdrawal {withdrawal.withdrawal_id} changed")


def _withdrawal_settled(withdrawal: Withdrawal) -> dict:
    """The data of `withdrawal.completed` and `withdrawal.failed` (shared.contracts)."""
    return {
        "withdrawal_id": withdrawal.withdrawal_id,
        "creator_id": withdrawal.creator_id,
        "diamonds": withdrawal.diamonds,
        "gross_minor": withdrawal.gross_minor,
        "fee_minor": withdrawal.fee_minor,
        "net_minor": withdrawal.net_minor,
        "currency": withdrawal.currency,
        "reason": withdrawal.failure_reason,
    }
