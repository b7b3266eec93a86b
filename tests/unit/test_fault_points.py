"""The unit of work's commit reaches its fault points only when the fault suite armed some
(shared.faults.ARMED, read from COINS_FAULTS when the process starts); production arms none and
pays no call for them."""

from __future__ import annotations

import pytest

from shared import faults
from shared.messaging.uow import commit


class Tx:
    def __init__(self, seen: list[str]):
        self.seen = seen

    def commit(self) -> None:
        self.seen.append("commit")


@pytest.fixture
def seen(monkeypatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(faults, "point", lambda name, key=None: seen.append(name))
    return seen


def test_the_armed_points_are_read_from_coins_faults(monkeypatch):
    monkeypatch.setenv("COINS_FAULTS", "uow.after_commit, relay.after_ack=sleep:1")
    assert faults._read_armed() == {"uow.after_commit": "kill", "relay.after_ack": "sleep:1"}
    monkeypatch.delenv("COINS_FAULTS")
    assert faults._read_armed() == {}


def test_a_commit_with_no_point_armed_calls_no_fault_point(monkeypatch, seen):
    monkeypatch.setattr(faults, "ARMED", {})
    commit(Tx(seen))
    assert seen == ["commit"]


def test_a_commit_with_a_point_armed_passes_both_points_around_the_commit(monkeypatch, seen):
    monkeypatch.setattr(faults, "ARMED", {"uow.after_commit": "kill"})
    commit(Tx(seen))
    assert seen == ["uow.before_commit", "commit", "uow.after_commit"]
