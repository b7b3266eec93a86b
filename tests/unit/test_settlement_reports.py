"""The processors' settlement reports through their adapter ports, against the sandboxes over
HTTP on 127.0.0.1: every charge, chargeback and payout once, page by page; a processor that
cannot be read raises ReportUnavailable (the auditor then says it could not check)."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from coinsctl.audit.books import all_pages
from services.payout.adapters.processor import FAILED, PAID, PayoutRecord, SandboxPayoutProcessor
from services.purchase.adapters.processor import APPROVED, DECLINED, ChargebackRecord, SandboxCardProcessor
from shared.outbound import OutboundSettings, ReportUnavailable, read_report


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """sandbox("card"|"payout") -> the URL of that sandbox, serving from a file of its own."""
    servers = []

    def start(name: str) -> str:
        monkeypatch.setenv(f"{name.upper()}_SANDBOX_DB", str(tmp_path / f"{name}.db"))
        module = __import__(f"sandboxes.{name}", fromlist=["create_app"])
        server = make_server("127.0.0.1", 0, module.create_app(), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def settings(url: str) -> OutboundSettings:
    return OutboundSettings(name="sandbox", url=url, timeout_ms=2000, attempts=1)


def test_the_card_processors_charges_and_chargebacks_are_read_page_by_page(sandbox):
    url = sandbox("card")
    card = SandboxCardProcessor(settings(url))
    for n in range(7):
        card.charge(payment_id=f"p-{n}", amount_minor=999, currency="USD", method="card", token="tok_visa")
    card.charge(payment_id="p-x", amount_minor=70, currency="JPY", method="card", token="tok_declined")
    assert requests.post(f"{url}/v1/charges/p-3/chargebacks", json={"reason": "fraud"}, timeout=5).status_code == 201
    again = requests.post(f"{url}/v1/charges/p-3/chargebacks", json={"reason": "fraud"}, timeout=5)
    assert again.status_code == 200  # one chargeback per charge
    assert requests.post(f"{url}/v1/charges/p-x/chargebacks", json={}, timeout=5).status_code == 409  # declined

    first, cursor = card.list_charges()
    assert len(first) == 8 and cursor is None  # one page of the adapter's size
    pages = []
    page, cursor = read_report(card.http, "/v1/reports/charges", cursor=None, page_size=3)
    while True:
        pages.append(page)
        if cursor is None:
            break
        page, cursor = read_report(card.http, "/v1/reports/charges", cursor=cursor, page_size=3)
    assert [len(p) for p in pages] == [3, 3, 2]
    charges = all_pages(card.list_charges)
    assert {(c.payment_id, c.outcome, c.amount_minor, c.currency) for c in charges} == {
        *((f"p-{n}", APPROVED, 999, "USD") for n in range(7)),
        ("p-x", DECLINED, 70, "JPY"),
    }
    assert all_pages(card.list_chargebacks) == [ChargebackRecord("cb_p3", "p-3", 999, "USD")]


def test_the_payout_processors_payouts_are_read_page_by_page(sandbox):
    payouts = SandboxPayoutProcessor(settings(sandbox("payout")))
    payouts.send(payout_id="w-1", net_minor=9_775, currency="USD", method="paypal", account="ann@example.com")
    payouts.send(payout_id="w-2", net_minor=10_000, currency="USD", method="bank", account="FAIL-0001")
    assert [(p.payout_id, p.outcome, p.net_minor, p.currency) for p in all_pages(payouts.list_payouts)] == [
        ("w-1", PAID, 9_775, "USD"),
        ("w-2", FAILED, 10_000, "USD"),
    ]
    assert isinstance(all_pages(payouts.list_payouts)[0], PayoutRecord)


def test_a_processor_that_cannot_be_read_raises(sandbox):
    with pytest.raises(ReportUnavailable):
        SandboxPayoutProcessor(settings("http://127.0.0.1:9")).list_payouts()  # nobody listens
    with pytest.raises(ReportUnavailable, match="answered 404"):
        SandboxCardProcessor(settings(sandbox("card") + "/elsewhere")).list_charges()
