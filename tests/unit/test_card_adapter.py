"""The card adapter against the sandbox card processor, over HTTP on 127.0.0.1: every answer
carries what the processor charged (our id, amount, currency), and "no charge" is only ever the
processor's own answer, never a 404 from something in between."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from services.purchase.adapters.processor import APPROVED, DECLINED, UNKNOWN, SandboxCardProcessor
from shared.outbound import OutboundSettings


@pytest.fixture
def sandbox_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CARD_SANDBOX_DB", str(tmp_path / "card.db"))
    from sandboxes.card import create_app

    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def card(url: str) -> SandboxCardProcessor:
    return SandboxCardProcessor(OutboundSettings(name="sandbox", url=url, timeout_ms=2000, attempts=1))


def test_charges_and_lookups_report_what_was_charged(sandbox_url):
    processor = card(sandbox_url)
    charged = processor.charge(payment_id="p-1", amount_minor=999, currency="USD", method="card", token="tok_visa")
    assert (charged.outcome, charged.payment_id, charged.amount_minor, charged.currency) == (
        APPROVED,
        "p-1",
        999,
        "USD",
    )
    assert processor.lookup(payment_id="p-1") == charged
    declined = processor.charge(payment_id="p-2", amount_minor=70, currency="JPY", method="card", token="tok_declined")
    assert (declined.outcome, declined.amount_minor, declined.currency) == (DECLINED, 70, "JPY")


def test_no_charge_is_the_processors_own_answer_and_any_other_404_is_unknown(sandbox_url, problem_404_url):
    assert card(sandbox_url).lookup(payment_id="never-charged") is None
    assert card(sandbox_url + "/elsewhere").lookup(payment_id="never-charged").outcome == UNKNOWN
    assert card("http://127.0.0.1:9").lookup(payment_id="never-charged").outcome == UNKNOWN  # nobody listens
    # Another service's problem+json 404 (a URL pointing at the wrong port, a gateway): not "no charge"
    assert card(problem_404_url).lookup(payment_id="never-charged").outcome == UNKNOWN


@pytest.fixture
def problem_404_url():
    """A service that is not the processor, answering every path with its own problem+json 404."""

    @Request.application
    def app(request):
        body = '{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no such route"}'
        return Response(body, status=404, content_type="application/problem+json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def deeply_nested_url():
    """Something answering valid JSON nested past the parser's stack (json.loads raises
    RecursionError, not ValueError): not an answer the adapter understands."""

    @Request.application
    def app(request):
        return Response("[" * 100_000 + "]" * 100_000, status=200, content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_an_answer_nested_past_the_parsers_stack_is_unknown_never_an_exception(deeply_nested_url):
    """Else POST /v1/purchases answered 500 (not 503, the outcome not known yet) and the reconciler
    failed on every lookup of the purchase while the answers kept coming so."""
    processor = card(deeply_nested_url)
    charged = processor.charge(payment_id="p-1", amount_minor=999, currency="USD", method="card", token="tok_visa")
    assert charged.outcome == UNKNOWN and processor.lookup(payment_id="p-1").outcome == UNKNOWN
