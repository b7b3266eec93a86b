"""shared.http.gunicorn_worker: a request reaches a thread only when whole, and a slow one is closed at
its deadline. Against a real gunicorn (one worker, one thread) serving an app that echoes the body."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.http.gunicorn_worker import chunked_end, framing
from tests.support.broker import free_port
from tests.support.waiting import wait_until

HEADER_S, BODY_S, LIMIT, MAX_READING, MAX_BUFFERED = 2, 3, 1000, 4, 1400

ECHO_APP = """
import gc

def app(environ, start_response):
    body = environ["wsgi.input"].read()
    out = b"%s %d %s" % (environ["REQUEST_METHOD"].encode(), len(body), body)
    if environ["PATH_INFO"] == "/frozen":
        out = b"frozen %d" % gc.get_freeze_count()
    start_response("201 Created", [("Content-Length", str(len(out)))])
    return [out]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app_dir: Path = tmp_path_factory.mktemp("echo")
    (app_dir / "echo_app.py").write_text(ECHO_APP)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(app_dir), str(Path(__file__).resolve().parents[2])]),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
        "GUNICORN_HEADER_TIMEOUT_S": str(HEADER_S),
        "GUNICORN_BODY_TIMEOUT_S": str(BODY_S),
        "GUNICORN_MAX_READING": str(MAX_READING),
        "GUNICORN_MAX_HEADER_BYTES": "2000",
        "MAX_BODY_BYTES": str(LIMIT),
        "GUNICORN_MAX_BUFFERED_BYTES": str(MAX_BUFFERED),
        "PROMETHEUS_MULTIPROC_DIR": str(app_dir / "metrics"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:shared.http.gunicorn_conf", "echo_app:app"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _listening(port), timeout=30, message="gunicorn to listen")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def exchange(port: int, data: bytes) -> bytes:
    with connect(port) as sock:
        sock.sendall(data)
        return until_closed(sock)


def post(body: bytes, *headers: str, close=True) -> bytes:
    head = ["POST /echo HTTP/1.1", "Host: t", f"Content-Length: {len(body)}", *headers]
    if close:
        head.append("Connection: close")
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


def test_a_whole_request_is_served(server):
    assert exchange(server, post(b"hello")).endswith(b"\r\n\r\nPOST 5 hello")


def test_a_worker_keeps_what_it_loaded_at_start_out_of_the_garbage_collectors_walks(server):
    answer = exchange(server, b"GET /frozen HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    frozen = int(answer.rsplit(b"frozen ", 1)[1])
    assert frozen > 10_000  # gunicorn, the config and the app's modules: shared.runtime.process.settle_heap


def test_a_request_in_pieces_after_an_empty_line_is_served(server):
    with connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in b"\r\n" + post(b"pieces"):
            sock.send(bytes([byte]))
        assert until_closed(sock).endswith(b"POST 6 pieces")


def test_a_chunked_body_with_extensions_and_trailers_is_read_whole(server):
    head = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    answer = exchange(server, head + b"5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert answer.endswith(b"POST 8 helloabc")


def test_pipelined_and_kept_alive_requests_each_go_through_the_reader(server):
    with connect(server) as sock:
        sock.sendall(post(b"one", close=False) + post(b"two", close=False))
        first = b""
        while first.count(b"HTTP/1.1 201") < 2 or not first.endswith(b"two"):
            first += sock.recv(65536)
        sock.sendall(post(b"three"))
        rest = until_closed(sock)
    assert b"POST 3 one" in first and first.endswith(b"POST 3 two") and rest.endswith(b"POST 5 three")


def test_an_expect_100_continue_request_gets_its_continue_before_sending_the_body(server):
    with connect(server) as sock:
        sock.sendall(post(b"", "Expect: 100-continue").replace(b"Content-Length: 0", b"Content-Length: 4"))
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"body")
        assert until_closed(sock).endswith(b"POST 4 body")


@pytest.mark.parametrize(
    "request_bytes",
    [
        post(b"").replace(b"Content-Length: 0", b"Content-Length: %d" % (LIMIT + 1)),
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (LIMIT + 1),
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (LIMIT // 2 + 1, b"a" * (LIMIT // 2 + 1)) * 2,
    ],
    ids=["content-length", "one-chunk", "chunks-adding-up"],
)
def test_a_body_over_the_limit_is_413_before_it_is_read(server, request_bytes):
    answer = exchange(server, request_bytes)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"application/problem+json" in answer
    assert b"payload-too-large" in answer


def test_a_header_section_over_the_limit_is_431(server):
    answer = exchange(server, b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 3000)
    assert answer.startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked",
        b"Content-Length: 5\r\nContent-Length: 5",
        b"Content-Length: +5",
    ],
)
def test_a_framing_gunicorn_refuses_is_answered_400_at_once(server, head):
    answer = exchange(server, b"POST / HTTP/1.1\r\nHost: t\r\n" + head + b"\r\n\r\nhello")
    assert answer.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    ("partial", "deadline_s", "code"),
    [
        (b"POST /echo HTTP/1.1\r\nHost: t\r\n", HEADER_S, b"header-timeout"),
        (post(b"").replace(b"Content-Length: 0", b"Content-Length: 10") + b"abc", BODY_S, b"body-timeout"),
    ],
    ids=["headers", "body"],
)
def test_a_slow_request_holds_no_thread_and_is_closed_with_408_at_its_deadline(server, partial, deadline_s, code):
    with connect(server) as slow:
        slow.sendall(partial)
        opened = time.monotonic()
        # The only thread is free: a whole request on another connection is served meanwhile,
        # while the slow one is still open.
        assert exchange(server, post(b"quick")).endswith(b"POST 5 quick")
        slow.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.recv(1)
        slow.setblocking(True)
        slow.settimeout(10)
        answer = until_closed(slow)
        waited = time.monotonic() - opened
    assert answer.startswith(b"HTTP/1.1 408 ") and code in answer
    assert deadline_s - 0.1 <= waited < deadline_s + 5


def test_a_byte_every_half_second_does_not_extend_the_header_deadline(server):
    with connect(server) as slow:
        opened = time.monotonic()
        for byte in b"GET / HTTP/1.1\r\nHost: t\r\n":
            try:
                slow.send(bytes([byte]))
            except OSError:
                break  # closed by the server
            time.sleep(0.5)  # pacing the client, not waiting for the server
            if time.monotonic() - opened > HEADER_S + 3:
                break
        answer = until_closed(slow)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_past_the_cap_on_connections_being_read_the_oldest_is_closed(server):
    socks = []
    try:
        for _ in range(MAX_READING + 1):  # one worker accepts them in this order, the order the cap goes by
            socks.append(connect(server))
            socks[-1].sendall(b"GET / HTTP/1.1\r\n")  # before the next one evicts it
        assert until_closed(socks[0]).startswith(b"HTTP/1.1 503 ")  # not the 408 of its deadline
    finally:
        for sock in socks:
            sock.close()


def test_past_the_byte_budget_of_requests_being_read_the_oldest_is_closed(server):
    """Two requests each holding 900 of their 1000 bytes: together past the 1400-byte budget."""
    socks = [connect(server) for _ in range(2)]
    try:
        for sock in socks:
            sock.sendall(post(b"x" * 900).replace(b"Content-Length: 900", b"Content-Length: 1000"))
        answers = sorted(until_closed(sock)[:12] for sock in socks)
    finally:
        for sock in socks:
            sock.close()
    assert answers == [b"HTTP/1.1 408", b"HTTP/1.1 503"]


def test_framing_reads_the_body_length_as_gunicorns_parser_does():
    assert framing(b"POST / HTTP/1.1\r\ncontent-length: 12").length == 12
    assert framing(b"GET / HTTP/1.1").length == 0
    assert framing(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked").chunked
    for refused in (
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1",
        b"POST / HTTP/1.1\r\nContent-Length: 0x1",
        b"POST / HTTP/1.1\r\nno colon",
    ):
        assert framing(refused).handoff, refused


@pytest.mark.parametrize(
    ("body", "end"),
    [
        (b"0\r\n\r\n", 5),
        (b"3\r\nabc\r\n0\r\nA: b\r\n\r\nNEXT", 19),
        (b"3\r\nabc\r\n", -1),
        (b"3\r\nab", -1),
        (b"zz\r\n", -2),
        (b"ffffffff\r\n", -3),
    ],
)
def test_chunked_end_finds_the_end_of_a_chunked_body(body, end):
    assert chunked_end(bytearray(body), 0, room=1000)[2] == end
