"""The payout adapter against the sandbox payout processor over HTTP: its send and lookup answers
name the payout id, net amount and currency, so the worker's check of the answer holds there too;
and against a processor whose answers leave out what they may."""

from __future__ import annotations

import http.server
import json
import threading
import uuid

import pytest
from werkzeug.serving import make_server

from services.payout.adapters.processor import FAILED, PAID, SandboxPayoutProcessor
from shared.outbound import OutboundSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("PAYOUT_SANDBOX_DB", str(tmp_path / "payout-sandbox.db"))
    from sandboxes.payout import create_app

    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SandboxPayoutProcessor(OutboundSettings(name="sandbox", url=f"http://127.0.0.1:{server.server_port}"))
    finally:
        server.shutdown()
        thread.join(10)


@pytest.mark.parametrize(("account", "outcome"), [("DE89-1", PAID), ("fail@example.com", FAILED)])
def test_the_sandbox_answers_with_what_it_was_asked_in_send_and_lookup(sandbox, account, outcome):
    payout_id = str(uuid.uuid4())
    asked = {"payout_id": payout_id, "net_minor": 9_775, "currency": "USD"}
    sent = sandbox.send(**asked, method="paypal", account=account)
    found = sandbox.lookup(payout_id=payout_id)
    for answer in (sent, found):
        assert answer.outcome == outcome and answer.mismatch(**asked) is None
    assert sent.mismatch(payout_id=payout_id, net_minor=1, currency="USD") == (
        "the processor answered net_minor 9775 (asked 1)"
    )
    assert sandbox.lookup(payout_id=str(uuid.uuid4())) is None


class _PaidWithoutReference(http.server.BaseHTTPRequestHandler):
    """A processor that pays and says so, naming the payout, its amount and currency, but no
    reference (or an empty one)."""

    def _answer(self, payout_id: str) -> None:
        paid = {"payout_id": payout_id, "status": "paid", "net_minor": 9_775, "currency": "USD"}
        body = json.dumps(paid | ({"reference": ""} if payout_id.startswith("empty") else {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(asked["payout_id"])

    def do_GET(self):  # noqa: N802
        self._answer(self.path.rsplit("/", 1)[-1])

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("payout_id", ["none-1", "empty-1"])
def test_a_payout_answered_paid_without_a_reference_is_paid(payout_id):
    """Else it was unknown for ever, sent and looked up again and again, its diamonds reserved,
    while the creator had the money (a reference we cannot keep completes without it too)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PaidWithoutReference)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        adapter = SandboxPayoutProcessor(
            OutboundSettings(name="processor", url=f"http://127.0.0.1:{server.server_address[1]}")
        )
        asked = {"payout_id": payout_id, "net_minor": 9_775, "currency": "USD"}
        for answer in (adapter.send(**asked, method="paypal", account="DE89-1"), adapter.lookup(payout_id=payout_id)):
            assert (answer.outcome, answer.kept_reference, answer.mismatch(**asked)) == (PAID, None, None)
    finally:
        server.shutdown()
        server.server_close()
