"""`coinsctl payouts fail` on PostgreSQL: never returns the diamonds of a withdrawal the processor
may have paid, whatever runs meanwhile or answers at the processor's URL, and records the reason
as given."""

from __future__ import annotations

import dataclasses
import http.server
import threading

import pytest
from click.testing import CliRunner

from coinsctl.cli import main as coinsctl
from services.payout.adapters.processor import PayoutResult
from services.payout.adapters.repository import SqlAlchemyWithdrawalRepository
from services.payout.domain.errors import PayoutMayHaveBeenPaid, WithdrawalNotHeld
from services.payout.domain.model import HELD, PROCESSING
from services.payout.service_layer import payouts
from shared.messaging.uow import run
from tests.integration.test_payout_api import earn, earnings, register, withdraw
from tests.support.processors import FakePayoutProcessor, tries_writing_when_asked

pytestmark = pytest.mark.integration


class Tampered(FakePayoutProcessor):
    """Pays as asked, but answers (sends and lookups) with another amount: the worker holds it."""

    def send(self, **asked) -> PayoutResult:
        return dataclasses.replace(super().send(**asked), net_minor=1)

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        found = super().lookup(payout_id=payout_id)
        return found and dataclasses.replace(found, net_minor=1)


def _turn(svc, processor, claim=None):
    claim = claim or payouts.claim_next(uow=svc.uow(), lease_seconds=svc.settings.worker_lease_seconds)
    rules, policy = svc.settings.rules, svc.settings.worker_policy
    return payouts.pay_out(claim, uow=svc.uow(), processor=processor, rules=rules, policy=policy)


@pytest.fixture
def held(make_service, auth_for):
    return held_on(make_service, auth_for, "postgres")


def held_on(make_service, auth_for, backend: str):
    """A withdrawal sent, paid, and held for an answer about another amount: (svc, client, auth,
    processor, withdrawal_id)."""
    auth, processor = auth_for("payout"), Tampered()
    svc, client = make_service("payout", backend=backend, processor=processor)
    register(client, auth)
    earn(svc, "creator", 40_000)
    wid = withdraw(client, auth, 10_000).get_json()["withdrawal_id"]
    assert _turn(svc, processor).outcome == HELD and processor.payouts[wid].outcome == "paid"
    return svc, client, auth, processor, wid


def _cli(svc, *args):
    env = {"PAYOUT_DATABASE_URL": svc.engine.url.render_as_string(hide_password=False)}
    return CliRunner().invoke(coinsctl, ["payouts", *args], env=env)


def test_a_withdrawal_held_again_by_the_worker_while_fail_runs_is_not_failed(held, monkeypatch):
    """Released, the withdrawal is processing when `fail` first reads it (nothing to ask the
    processor about); the worker then pays it and holds it again before `fail` locks the row."""
    svc, client, auth, processor, wid = held
    assert run(payouts.release_held, wid, uow=svc.uow()).status == PROCESSING
    claim = payouts.claim_next(uow=svc.uow(), lease_seconds=svc.settings.worker_lease_seconds)
    first_read = SqlAlchemyWithdrawalRepository.get
    seen = []

    def get(self, withdrawal_id, *, for_update=False):
        found = first_read(self, withdrawal_id, for_update=for_update)
        if not for_update and not seen:
            seen.append(found.status)
            assert _turn(svc, processor, claim).outcome == HELD  # the worker's turn, on its own connection
        return found

    monkeypatch.setattr(SqlAlchemyWithdrawalRepository, "get", get)
    with pytest.raises(WithdrawalNotHeld):  # as read: nothing was asked of the processor about it
        payouts.fail_held(wid, reason="ops: mismatch", uow=svc.uow(), processor=processor)
    assert seen == [PROCESSING]
    assert earnings(client, auth)["available"] == 20_000  # 10,000 of 40,000 paid, 10,000 left reserved
    monkeypatch.undo()
    with pytest.raises(PayoutMayHaveBeenPaid):  # run again: the processor is asked, and it paid
        payouts.fail_held(wid, reason="ops: mismatch", uow=svc.uow(), processor=processor)


class _NotTheProcessor(http.server.BaseHTTPRequestHandler):
    """A web server that is not the payout processor (a proxy, an ingress, another service's port):
    404 with its own page for any path."""

    problem = False  # answering problem+json, as another service or a gateway may

    def do_GET(self):  # noqa: N802
        body = b"<html><body><h1>404 Not Found</h1></body></html>"
        if self.problem:
            body = b'{"type": "about:blank", "title": "Not Found", "status": 404}'
        self.send_response(404)
        self.send_header("Content-Type", "application/problem+json" if self.problem else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _AnotherServiceOrGateway(_NotTheProcessor):
    problem = True


@pytest.fixture(params=[_NotTheProcessor, _AnotherServiceOrGateway])
def not_the_processor(request):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_404_that_is_not_the_processors_answer_is_no_proof_that_nothing_was_paid(held, not_the_processor):
    svc, client, auth, _processor, wid = held
    done = _cli(svc, "fail", wid, "--reason", "ops: mismatch", "--processor-url", not_the_processor)
    assert done.exit_code == 1 and "cannot be asked" in done.output, done.output
    assert earnings(client, auth)["available"] == 20_000


@pytest.mark.parametrize(
    "reason", ["", "   ", "\x1b[2J", "\x9b2J", "\u00a0", "\u200b", "ops:\u2028mismatch", "review: " + "x" * 300]
)
def test_a_reason_that_cannot_be_recorded_as_given_is_refused(held, reason):
    svc, client, auth, _processor, wid = held
    done = _cli(svc, "fail", wid, "--reason", reason)
    assert done.exit_code == 2 and "--reason" in done.output, done.output
    assert run(payouts.held_withdrawals, uow=svc.uow(), limit=10)[0].withdrawal_id == wid


@pytest.mark.parametrize("limit", ["-1", "0", "x"])
def test_a_listing_limit_that_is_no_count_is_refused_naming_it(held, limit):
    svc, *_ = held
    done = _cli(svc, "held", "--limit", limit)
    assert done.exit_code == 2 and "--limit" in done.output, done.output


def test_fail_asks_the_processor_with_no_transaction_open(make_service, auth_for, monkeypatch):
    """On SQLite an open transaction holds the database's write lock: the payout API and workers
    would wait on an operator's command for as long as the processor takes to answer."""
    from coinsctl.audit import books

    svc, client, auth, processor, wid = held_on(make_service, auth_for, "sqlite")
    monkeypatch.setattr(books, "sandbox_processors", lambda card_url, payout_url: books.Processors(None, processor))
    tries = tries_writing_when_asked(processor, svc.engine.url.database)
    done = _cli(svc, "fail", wid, "--reason", "ops: mismatch")
    assert done.exit_code == 1 and "holds a payout of it" in done.output, done.output
    assert tries == ["free"]
