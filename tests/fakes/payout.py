"""The payout service's unit of work in memory: creators, accounts, earnings, withdrawals and the outbox."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from services.payout.adapters.repository import (
    AbstractAccountRepository,
    AbstractCreatorRepository,
    AbstractEarningsRepository,
    AbstractWithdrawalRepository,
)
from services.payout.domain.model import (
    FAILED,
    HELD,
    PENDING,
    PROCESSING,
    Creator,
    CreatorAccount,
    Earning,
    PayoutMethodChange,
    Withdrawal,
)
from services.payout.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth.onbehalf import replayed
from shared.db.engines import StaleRead
from tests.fakes import FakeUnitOfWork


def _copy(found):
    return dataclasses.replace(found) if found else None  # a read, not the row itself


class FakeCreatorRepository(AbstractCreatorRepository):
    def __init__(self, creators: dict[str, Creator], changes: list[PayoutMethodChange]):
        self._creators, self._changes = creators, changes

    def get(self, creator_id: str) -> Creator | None:
        return _copy(self._creators.get(creator_id))

    def add(self, creator: Creator) -> bool:
        if creator.creator_id in self._creators:
            return False
        self._creators[creator.creator_id] = _copy(creator)
        return True

    get_for_update = get

    def change_method(self, change: PayoutMethodChange) -> None:
        creator = self._creators[change.creator_id]
        creator.payout_method, creator.payout_account = change.new_method, change.new_account
        creator.updated_at, creator.method_hold_until = change.changed_at, change.hold_until
        self._changes.append(change)

    def method_changes(self, creator_id: str) -> list[PayoutMethodChange]:
        return [c for c in reversed(self._changes) if c.creator_id == creator_id]

    def lift_method_hold(self, change: PayoutMethodChange) -> None:
        self._creators[change.creator_id].method_hold_until = change.hold_lifted_at
        self._changes[:] = [change if c.change_id == change.change_id else c for c in self._changes]

    def set_under_review(self, creator_id: str, under_review: bool) -> bool:
        if creator_id not in self._creators:
            return False
        self._creators[creator_id].under_review = under_review
        return True


class FakeAccountRepository(AbstractAccountRepository):
    def __init__(self, accounts: dict[str, CreatorAccount]):
        self._accounts = accounts

    def get(self, creator_id: str) -> CreatorAccount | None:
        return _copy(self._accounts.get(creator_id))

    def get_or_create_for_update(self, creator_id: str) -> CreatorAccount:
        self._accounts.setdefault(creator_id, CreatorAccount(creator_id=creator_id))
        return self.get(creator_id)

    def credit_many(self, diamonds_by_creator: dict[str, int]) -> None:
        for creator_id, diamonds in diamonds_by_creator.items():
            self._accounts.setdefault(creator_id, CreatorAccount(creator_id=creator_id)).credited_diamonds += diamonds

    def save(self, account: CreatorAccount) -> None:
        if self._accounts[account.creator_id].version != account.version:
            raise StaleRead(f"account {account.creator_id} changed")
        account.version += 1
        self._accounts[account.creator_id] = _copy(account)


class FakeEarningsRepository(AbstractEarningsRepository):
    def __init__(self, earnings: dict[str, Earning]):
        self._by_gift = earnings

    def add_many(self, earned: list[Earning]) -> set[str]:
        new = {earning.gift_tx_id for earning in earned if earning.gift_tx_id not in self._by_gift}
        for earning in earned:
            self._by_gift.setdefault(earning.gift_tx_id, earning)
        return new

    def pending(self, creator_id: str, now: datetime) -> int:
        return sum(e.diamonds for e in self._by_gift.values() if e.creator_id == creator_id and e.available_at > now)


class FakeWithdrawalRepository(AbstractWithdrawalRepository):
    def __init__(self, withdrawals: dict[str, Withdrawal]):
        self._withdrawals = withdrawals

    def add(self, withdrawal: Withdrawal) -> None:
        self._withdrawals[withdrawal.withdrawal_id] = _copy(withdrawal)

    def get(self, withdrawal_id: str, *, for_update: bool = False) -> Withdrawal | None:
        return _copy(self._withdrawals.get(withdrawal_id))

    def gross_since(self, creator_id: str, since: datetime) -> int:
        return sum(
            w.gross_minor
            for w in self._withdrawals.values()
            if w.creator_id == creator_id and w.created_at >= since and w.status != FAILED
        )

    def update(self, withdrawal: Withdrawal, *, claim_version: int) -> bool:
        if self._withdrawals[withdrawal.withdrawal_id].claim_version != claim_version:
            return False
        self._withdrawals[withdrawal.withdrawal_id] = _copy(withdrawal)
        return True

    def next_due(self, now: datetime) -> Withdrawal | None:
        due = [
            w
            for w in self._withdrawals.values()
            if w.status in (PENDING, PROCESSING)
            and (w.claimed_until is None or w.claimed_until < now)
            and (w.next_check_at is None or w.next_check_at <= now)
            and (w.send_after is None or w.send_after <= now)
        ]
        due.sort(key=lambda w: (w.next_check_at or w.created_at, w.withdrawal_id))
        return _copy(due[0]) if due else None

    def fence_send(self, withdrawal_id: str, *, claim_version: int, now: datetime, until: datetime) -> bool:
        w = self._withdrawals[withdrawal_id]
        if (
            w.claim_version != claim_version
            or w.status != PROCESSING
            or not (w.claimed_until and w.claimed_until > now)
        ):
            return False
        w.sending(until=until)
        return True

    def send_waiting_at(self, creator_id: str, at: datetime) -> int:
        waiting = [
            w
            for w in self._withdrawals.values()
            if w.creator_id == creator_id and w.status == PENDING and w.send_after is not None and w.send_after > at
        ]
        for w in waiting:
            w.send_after = at
        return len(waiting)

    def held(self, *, limit: int) -> list[Withdrawal]:
        return [_copy(w) for w in sorted(self._withdrawals.values(), key=lambda w: w.created_at) if w.status == HELD][
            :limit
        ]


class FakePayoutUnitOfWork(FakeUnitOfWork, AbstractUnitOfWork):
    source = "payout"

    def empty(self) -> dict:
        return {"creators": {}, "changes": [], "accounts": {}, "earnings": {}, "withdrawals": {}, "grants": set()}

    def attach(self, data: dict) -> None:
        self.creators = FakeCreatorRepository(data["creators"], data["changes"])
        self.accounts = FakeAccountRepository(data["accounts"])
        self.earnings = FakeEarningsRepository(data["earnings"])
        self.withdrawals = FakeWithdrawalRepository(data["withdrawals"])
        self._grants = data["grants"]

    def spend_grant(self, grant) -> None:
        if grant is not None:
            if (grant.issuer, grant.jti) in self._grants:
                raise replayed()
            self._grants.add((grant.issuer, grant.jti))
