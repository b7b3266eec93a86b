"""gunicorn's gthread worker, with every request read in full before a thread is given to it.

The stock worker hands a connection to a thread once its first byte arrives, and the thread then
reads the headers and the body with blocking reads and no deadline: a client sending a byte every
few seconds holds the thread for as long as it likes, and 16 such clients hold a whole pod. Here
the worker's main loop (the selector gthread already runs) reads each request, non-blocking, into
a buffer: the headers within GUNICORN_HEADER_TIMEOUT_S of the connection being accepted (or of a
kept-alive connection's next first byte), then the body (Content-Length or chunked, at most
MAX_BODY_BYTES of data) within GUNICORN_BODY_TIMEOUT_S. Only a complete request goes to a thread,
whose parser reads it from that buffer, never from the socket. A connection past its deadline is
answered 408 and closed. At most GUNICORN_MAX_READING connections, holding at most
GUNICORN_MAX_BUFFERED_BYTES, are being read at once per worker: past either, the oldest is closed
(503). Refused early, without a thread: a body declared over the limit (413), a header section
over GUNICORN_MAX_HEADER_BYTES (431). Anything whose framing this reader does not recognise goes
to gunicorn's own parser as soon as its headers are in, which refuses it (400) before any body.

TLS, HTTP/2 and the PROXY protocol are not pre-read (the services use none of them): with those
settings the worker behaves as the stock one.
"""

from __future__ import annotations

import errno
import json
import selectors
import time
from dataclasses import dataclass
from functools import partial

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, ThreadWorker

from shared.env import Env
from shared.errors import PROBLEM_CONTENT_TYPE, Problem
from shared.settings import CommonSettings

_CRLF2 = b"\r\n\r\n"


@dataclass(frozen=True)
class ReadLimits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_reading: int = 256  # connections being read at once, per worker
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = CommonSettings.max_body_bytes  # the app's limit too: one default
    max_buffered_bytes: int = 16 * 1024 * 1024  # all requests being read, per worker

    @classmethod
    def from_env(cls, env: Env | None = None) -> ReadLimits:
        env = env or Env()
        return cls(
            header_timeout_s=env.int("GUNICORN_HEADER_TIMEOUT_S", int(cls.header_timeout_s)),
            body_timeout_s=env.int("GUNICORN_BODY_TIMEOUT_S", int(cls.body_timeout_s)),
            max_reading=env.int("GUNICORN_MAX_READING", cls.max_reading),
            max_header_bytes=env.int("GUNICORN_MAX_HEADER_BYTES", cls.max_header_bytes),
            max_body_bytes=env.int("MAX_BODY_BYTES", cls.max_body_bytes),
            max_buffered_bytes=env.int("GUNICORN_MAX_BUFFERED_BYTES", cls.max_buffered_bytes),
        )


class _Reading:
    """A request being read: the bytes so far, its deadline, and (once the headers are in) where
    its body ends."""

    __slots__ = ("buf", "deadline", "head_end", "need", "chunked", "scan", "body_bytes", "phase", "start", "searched")

    def __init__(self, data: bytes, deadline: float):
        self.buf = bytearray(data)
        self.deadline = deadline
        self.phase = "header"
        self.head_end = -1  # index just past the blank line ending the headers
        self.need = -1  # total length of a Content-Length request
        self.chunked = False
        self.scan = 0  # chunked: where the next chunk-size line starts
        self.body_bytes = 0  # chunked: data bytes seen so far
        self.start = 0  # headers: past the empty lines that may come before the request line
        self.searched = 0  # headers: where the search for their end resumes (never the whole buffer again)


class Framing:
    """What the headers say about the body: its Content-Length, chunked, or 'let gunicorn decide'."""

    def __init__(self, length: int | None = None, chunked: bool = False, handoff: bool = False, expect=False):
        self.length, self.chunked, self.handoff, self.expect_continue = length, chunked, handoff, expect


def framing(head: bytes) -> Framing:
    """The body framing of a request whose header section is `head` (up to its blank line). Any
    framing gunicorn's parser refuses (two lengths, a length and chunked, a non-digit length, a
    coding after chunked, chunked on HTTP/1.0) is `handoff`: that parser answers 400 on the
    headers alone, reading no body."""
    lines = head.split(b"\r\n")
    request_line, fields = lines[0], lines[1:]
    lengths, codings, expect = [], [], False
    for line in fields:
        name, sep, value = line.partition(b":")
        if not sep:
            return Framing(handoff=True)
        name, value = name.strip().lower(), value.strip(b" \t")
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings += [c.strip(b" \t").lower() for c in value.split(b",")]
        elif name == b"expect" and value.lower() == b"100-continue":
            expect = True
    http11 = request_line.endswith(b"HTTP/1.1")
    if codings:
        if lengths or codings.count(b"chunked") != 1 or codings[-1] != b"chunked" or not http11:
            return Framing(handoff=True)
        return Framing(chunked=True, expect=expect and http11)
    if not lengths:
        return Framing(length=0)
    if len(lengths) > 1 or not lengths[0].isdigit():
        return Framing(handoff=True)
    return Framing(length=int(lengths[0]), expect=expect and http11)


def chunked_end(buf: bytearray, start: int, room: int) -> tuple[int, int, int]:
    """Scan a chunked body from `start` (a chunk-size line) with `room` data bytes still allowed:
    (next scan position, data bytes passed, end) where end is the index just past the trailer
    section, -1 while incomplete, -2 when the framing is malformed (gunicorn's parser refuses it
    with what is there), -3 when a chunk declares more than the room left."""
    pos, data = start, 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return pos, data, (-2 if len(buf) - pos > 1024 else -1)
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].rstrip(b" \t")
        try:
            size = int(size_text, 16) if size_text and size_text.isalnum() else -1
        except ValueError:
            size = -1
        if size < 0:
            return pos, data, -2
        if data + size > room:
            return pos, data, -3
        if size == 0:
            trailer = eol + 2
            if buf[trailer : trailer + 2] == b"\r\n":
                return pos, data, trailer + 2
            end = buf.find(_CRLF2, trailer)
            return pos, data, (end + 4 if end >= 0 else -1)
        chunk_end = eol + 2 + size + 2
        if len(buf) < chunk_end:
            return pos, data, -1
        pos, data = chunk_end, data + size


_PROBLEMS = {
    "header-timeout": ("Request Timeout", "The request's headers did not arrive within the deadline."),
    "body-timeout": ("Request Timeout", "The request's body did not arrive within the deadline."),
    "payload-too-large": ("Content Too Large", "The body is larger than {} bytes."),
    "headers-too-large": ("Request Header Fields Too Large", "The header section is too large."),
    "too-many-connections": ("Service Unavailable", "Too many requests are being received; retry."),
}


def _problem(status: int, code: str, *args) -> Problem:
    title, detail = _PROBLEMS[code]
    return Problem(status, title, detail.format(*args), code=code)


class BufferedThreadWorker(ThreadWorker):
    """gthread, with requests read whole by the main loop under deadlines (see the module)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = ReadLimits.from_env()
        self.reading: dict = {}  # TConn -> _Reading, oldest first
        self.buffered = 0  # bytes held by self.reading
        self._next_sweep = 0.0
        cfg = self.cfg
        self.prereads = not (
            cfg.is_ssl
            or cfg.protocol != "http"
            or cfg.proxy_protocol not in ("off", False, None)
            or cfg.http2_cleartext != "off"
            or any(p != "h1" for p in cfg.http_protocols)
        )
        self._refused = None

    def init_process(self):
        # After the fork, with PROMETHEUS_MULTIPROC_DIR set (shared.http.gunicorn_conf).
        from shared.observability.metrics import HTTP_CONNECTIONS_REFUSED

        self._refused = HTTP_CONNECTIONS_REFUSED
        super().init_process()

    # -- the main loop's side ------------------------------------------------------------------

    def enqueue_req(self, conn):
        """Every path to a thread (a new connection, a kept-alive one readable again, a pipelined
        request read ahead) comes here: a request is read whole before it is given one."""
        if not self.prereads:
            return super().enqueue_req(conn)
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.sock.setblocking(False)
        if len(self.reading) >= self.limits.max_reading:
            oldest = next(iter(self.reading))
            self._close_reading(oldest, "too_many", _problem(503, "too-many-connections"))
        reading = _Reading(leftover, time.monotonic() + self.limits.header_timeout_s)
        self.reading[conn] = reading
        self.buffered += len(leftover)
        if leftover and self._advance(conn, reading):
            return
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn, _sock):
        reading = self.reading.get(conn)
        if reading is None:
            return
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        reading.buf += data
        self.buffered += len(data)
        self._advance(conn, reading)
        while self.buffered > self.limits.max_buffered_bytes:  # what is left being read, oldest first
            self._close_reading(next(iter(self.reading)), "too_many", _problem(503, "too-many-connections"))

    def _advance(self, conn, reading: _Reading) -> bool:
        """Move the request on with what is buffered; True once it left the reading set."""
        buf, limits = reading.buf, self.limits
        if reading.phase == "header":
            while buf.startswith(b"\r\n", reading.start):  # empty lines before a request line are ignored
                reading.start += 2
            start = reading.start
            end = buf.find(_CRLF2, max(start, reading.searched))
            if end < 0:
                reading.searched = max(0, len(buf) - 3)
                if len(buf) > limits.max_header_bytes:
                    self._close_reading(conn, "headers_too_large", _problem(431, "headers-too-large"))
                    return True
                return False
            reading.head_end = end + 4
            frame = framing(bytes(buf[start:end]))
            if frame.handoff:
                return self._dispatch(conn, reading)
            if frame.length is not None and frame.length > limits.max_body_bytes:
                self._close_reading(conn, "body_too_large", _problem(413, "payload-too-large", limits.max_body_bytes))
                return True
            reading.phase = "body"
            reading.deadline = time.monotonic() + limits.body_timeout_s
            reading.chunked = frame.chunked
            reading.scan = reading.head_end
            reading.need = -1 if frame.chunked else reading.head_end + frame.length
            if frame.expect_continue and not self._body_complete(reading):
                self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        if reading.phase == "body":
            complete = self._body_complete(reading)
            if complete is None:
                self._close_reading(conn, "body_too_large", _problem(413, "payload-too-large", limits.max_body_bytes))
                return True
            if complete:
                return self._dispatch(conn, reading)
        return False

    def _body_complete(self, reading: _Reading) -> bool | None:
        """Whether the whole body is buffered; None for a chunked body over the limit."""
        if not reading.chunked:
            return len(reading.buf) >= reading.need
        room = self.limits.max_body_bytes - reading.body_bytes
        reading.scan, data, end = chunked_end(reading.buf, reading.scan, room)
        reading.body_bytes += data
        if end == -3:
            return None
        return end != -1  # complete, or malformed (the parser refuses it from the buffer)

    def _dispatch(self, conn, reading: _Reading) -> bool:
        del self.reading[conn]
        self.buffered -= len(reading.buf)
        self._unregister(conn)
        conn.prebuffered = bytes(reading.buf)
        conn.data_ready = True
        super().enqueue_req(conn)
        return True

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 0.25
        linger = None if self.alive else now + STOP_KEEPALIVE_LINGER
        for conn, reading in list(self.reading.items()):
            if linger is not None:
                reading.deadline = min(reading.deadline, linger)
            if reading.deadline <= now:
                self._close_reading(conn, f"{reading.phase}_timeout", _problem(408, f"{reading.phase}-timeout"))

    def _close_reading(self, conn, reason: str, problem: Problem) -> None:
        """Answer `problem` (best effort: the socket is not waited for) and close."""
        try:  # what the client sent and was not read yet: left unread, closing would reset the answer away
            conn.sock.recv(1 << 16)
        except OSError:
            pass
        body = json.dumps(problem.to_dict()).encode()
        head = (
            f"HTTP/1.1 {problem.status} {problem.title}\r\nContent-Type: {PROBLEM_CONTENT_TYPE}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self._send(conn, head.encode() + body)
        if self._refused is not None:
            self._refused.labels(reason).inc()
        self.log.info("connection closed unread: %s", reason, extra={"reason": reason, "peer": str(conn.client)})
        self._drop(conn)

    def _drop(self, conn) -> None:
        reading = self.reading.pop(conn, None)
        if reading is not None:
            self.buffered -= len(reading.buf)
        self._unregister(conn)
        self.nr_conns -= 1
        conn.close()

    def _unregister(self, conn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass  # not registered (a request complete on arrival)

    @staticmethod
    def _send(conn, data: bytes) -> None:
        try:
            conn.sock.send(data)
        except OSError as exc:  # a full send buffer or a gone client: nothing more is owed
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                raise

    # -- the thread's side ---------------------------------------------------------------------

    def handle(self, conn):
        data = getattr(conn, "prebuffered", None)
        if data is not None:
            conn.prebuffered = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(data)
        return super().handle(conn)

    def handle_request(self, req, conn):
        # Backstop: the whole request is buffered, so a read reaching the socket means this reader
        # and gunicorn's parser disagree on its framing; that read (and every write of the
        # answer) is bounded rather than waited for.
        if self.prereads:
            conn.sock.settimeout(self.limits.body_timeout_s)
        return super().handle_request(req, conn)
