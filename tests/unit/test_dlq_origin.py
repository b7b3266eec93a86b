"""A dead letter's origin headers are checked before the broker is asked: a letter that names another
topic, or no valid partition and offset, is refused with the reason (never an exception)."""

from __future__ import annotations

import pytest

from coinsctl.recovery import DeadLetter, _original


def letter(**headers: bytes) -> DeadLetter:
    return DeadLetter("p.gift.sent.v1", 0, 7, b"k", b"{}", {f"dlq.{k}": v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "its dlq.topic header names nothing, not p.gift.sent.v1"),
        ({"topic": b"p.purchase.completed.v1", "partition": b"0", "offset": b"1"}, "names p.purchase.completed.v1"),
        ({"topic": b"gift.sent.v1", "partition": b"0", "offset": b"1"}, "names gift.sent.v1, not p.gift.sent.v1"),
        ({"topic": b"p.gift.sent.v1"}, "no valid dlq.partition/dlq.offset headers"),
        ({"topic": b"p.gift.sent.v1", "partition": b"0", "offset": b"-1"}, "no valid"),
        ({"topic": b"p.gift.sent.v1", "partition": b"0", "offset": "\u00b2".encode()}, "no valid"),
        ({"topic": b"p.gift.sent.v1", "partition": b" 0", "offset": b"1"}, "no valid"),
        ({"topic": b"p.gift.sent.v1", "partition": b"\xff", "offset": b"1"}, "no valid"),
    ],
)
def test_a_letter_without_a_valid_origin_is_refused_before_any_read(headers, reason):
    assert reason in _original(None, letter(**headers), timeout_s=1)
