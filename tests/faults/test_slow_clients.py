"""Slowloris against the gifting web pod (shared.http.gunicorn_worker): 100 slow connections, some
trickling their headers a byte a second, some sending headers and never the body, hold no thread.
Gifts keep being answered 201 meanwhile, and every slow connection is closed after its deadline
(GUNICORN_HEADER_TIMEOUT_S / GUNICORN_BODY_TIMEOUT_S, shortened by the fault stack)."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.faults.conftest import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, metric
from tests.support.stories import buy, send_gift, spendable, unique

pytestmark = pytest.mark.faults

TRICKLING, BODILESS = 70, 30


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def _timed_gift(api, viewer: str, creator: str) -> float:
    started = time.monotonic()
    response = send_gift(api, viewer, creator, "rose")
    assert response.status_code == 201, response.text
    return time.monotonic() - started


def _closed_by_server(sock: socket.socket, wait_s: float) -> bytes | None:
    """What the server sent before closing (the 408), or None if it is still open after wait_s."""
    sock.settimeout(wait_s)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def test_slow_clients_hold_no_thread_and_are_closed_after_the_deadline(stack, api):
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_70")
    spendable(api, viewer, 70)
    baseline = [_timed_gift(api, viewer, creator) for _ in range(10)]

    url = stack.url("gifting")
    host = urlsplit(url).netloc
    request_head = f"POST /v1/gifts HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    trickling = [_connect(url) for _ in range(TRICKLING)]
    bodiless = [_connect(url) for _ in range(BODILESS)]
    opened = time.monotonic()
    for sock in bodiless:  # the whole header section, announcing a body that never comes
        sock.sendall((request_head + "Content-Length: 100\r\n\r\n").encode())
    stop = threading.Event()

    def trickle():  # a byte a second on each, for longer than the header deadline
        payload = (request_head + "X-Slow: " + "a" * 60).encode()
        for i in range(len(payload)):
            for sock in trickling:
                try:
                    sock.send(payload[i : i + 1])
                except OSError:
                    pass  # closed by the server: what the test expects
            if stop.wait(1.0):
                return

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        # Every thread of both workers would be held by now with gunicorn's own gthread worker.
        during = [_timed_gift(api, viewer, creator) for _ in range(20)]
        limit = max(10 * statistics.median(baseline), 10 * max(baseline), 1.0)
        assert max(during) < limit, (baseline, during)

        answers = [_closed_by_server(trickling[0], wait_s=HEADER_TIMEOUT_S + 15)]
        first_closed_after = time.monotonic() - opened
        answers += [_closed_by_server(sock, wait_s=BODY_TIMEOUT_S + 15) for sock in trickling[1:] + bodiless]
    finally:
        stop.set()
        trickler.join(timeout=5)
        for sock in trickling + bodiless:
            sock.close()

    assert all(answer is not None for answer in answers), f"{answers.count(None)} slow connections still open"
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers if answer), set(answers)
    assert first_closed_after >= HEADER_TIMEOUT_S - 1  # closed at the deadline, not before
    refused = metric(stack, "gifting", "coins_http_connections_refused_total", reason="header_timeout")
    refused += metric(stack, "gifting", "coins_http_connections_refused_total", reason="body_timeout")
    assert refused >= TRICKLING + BODILESS
    assert _timed_gift(api, viewer, creator) < limit
