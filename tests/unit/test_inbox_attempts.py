"""A record's failed attempts count towards its dead letter only until it applies."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from shared.contracts import GIFT_SENT
from shared.db.tables import add_infrastructure_tables
from shared.messaging.inbox import Apply, Inbox, RetryBatch
from tests.support.events import gift_event


def inbox_of(tmp_path, handler) -> Inbox:
    """payout's inbox for gift.sent on a fresh SQLite file, its handler `handler`."""
    metadata = sa.MetaData()
    tables = add_infrastructure_tables(metadata)
    engine = sa.create_engine(f"sqlite:///{tmp_path}/inbox.db")
    metadata.create_all(engine)
    return Inbox(
        engine=engine,
        table=tables["inbox"],
        group="payout-consumer",
        handlers={GIFT_SENT.topic: handler},
        topic_name=str,
        max_attempts=3,
    )


def failing(times: int):
    """A handler with a bug the next deploy fixes: it fails `times` times, then applies."""
    failures = {"left": times}

    def handler(*_args):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a bug, fixed by the next deploy")

    return handler


def record(offset: int):
    key, value, _ = gift_event("cara", 5)
    return SimpleNamespace(topic=GIFT_SENT.topic, partition=0, offset=offset, key=key, value=value, headers=[])


def test_attempts_are_forgotten_once_the_record_applies(tmp_path):
    inbox = inbox_of(tmp_path, failing(2))
    first = record(7)
    for _ in range(2):
        with pytest.raises(RetryBatch):
            inbox.apply_batch([first])
    assert inbox.attempts == {(GIFT_SENT.topic, 0, 7): 2}
    assert inbox.apply_batch([first]).poisoned == [] and inbox.attempts == {}


def test_attempts_are_forgotten_once_the_record_applies_set_wise(tmp_path):
    """A set-wise handler (payout's gift.sent): the batch fails, one by one too, then applies whole."""
    fails = failing(2)
    inbox = inbox_of(tmp_path, Apply(one=fails, many=fails))
    first = record(7)
    with pytest.raises(RetryBatch):  # set-wise refused, then one by one: its first failed attempt
        inbox.apply_batch([first])
    assert inbox.attempts == {(GIFT_SENT.topic, 0, 7): 1}
    outcome = inbox.apply_batch([first])
    assert outcome.poisoned == [] and inbox.set_wise_batches == 1 and inbox.attempts == {}
