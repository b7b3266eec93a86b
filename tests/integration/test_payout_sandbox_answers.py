"""The payout adapter against the sandbox payout processor over HTTP: its send and lookup answers
name the payout id, net amount and currency, so the worker's check of the answer holds there too."""

from __future__ import annotations

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
