"""A leased claim whose commit was acknowledged lost (a transient error after the database committed
it) is retried, and the retry knows the row as its own: never a 409 "in flight" from itself."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from shared.db.engines import make_engine
from shared.db.tables import add_infrastructure_tables
from shared.idempotency import Answer, KeyedRequest
from shared.idempotency.http import _run_leased
from shared.idempotency.store import KeyStore


class LosesTheFirstCommitsAnswer:
    """An engine whose first transaction commits, then raises as a dropped connection would."""

    def __init__(self, engine):
        self.engine, self.lost = engine, False

    @contextmanager
    def begin(self):
        with self.engine.begin() as conn:
            yield conn
        if not self.lost:
            self.lost = True
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


def test_a_claim_whose_commit_was_acknowledged_lost_is_its_own_on_the_retry(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/keys.db")
    metadata = sa.MetaData()
    table = add_infrastructure_tables(metadata)["idempotency_keys"]
    metadata.create_all(engine)
    calls = []

    def attempt(call):
        calls.append(call)
        return Answer(201, '{"ok": 1}')

    request = KeyedRequest("gateway", "k", "fingerprint")
    answer = _run_leased(LosesTheFirstCommitsAnswer(engine), KeyStore(table, lease_seconds=60), request, attempt)
    assert answer.status == 201 and len(calls) == 1
