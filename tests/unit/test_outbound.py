"""A processor call writes no request after its deadline: not when the name lookup before a new
connection outlasts it, and not when the caller's own bound (a payout's lease) has passed."""

import http.server
import socket
import threading
import time
from datetime import timedelta

import pytest

from shared.clock import utcnow
from shared.outbound import Outbound, OutboundSettings


@pytest.fixture
def processor():
    """A processor on 127.0.0.1 answering 404 to anything, counting what reached it."""
    seen = []

    class Answers(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen.append(self.path)
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def settings(url: str) -> OutboundSettings:
    return OutboundSettings(name="sandbox", url=url, timeout_ms=300, attempts=2, backoff_ms=10)  # deadline 0.61 s


def test_a_call_answers(processor):
    url, seen = processor
    assert Outbound(settings(url)).call("POST", "/v1/payouts").status == 404 and seen == ["/v1/payouts"]


def test_a_name_lookup_outlasting_the_deadline_sends_nothing(processor, monkeypatch):
    url, seen = processor
    real = socket.getaddrinfo

    def slow_resolver(*args, **kwargs):
        time.sleep(1.0)  # a resolver timing out on its first nameserver: no timeout of ours covers it
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    outbound = Outbound(settings(url))
    assert outbound.call("POST", "/v1/payouts") is None  # unknown: for the reconciler, as a timeout is
    assert seen == []  # connected past the deadline: the request was never written


def test_a_callers_bound_already_passed_sends_nothing(processor):
    url, seen = processor
    assert Outbound(settings(url)).call("POST", "/v1/payouts", send_by=utcnow() - timedelta(seconds=1)) is None
    assert seen == []
