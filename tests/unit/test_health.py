"""Liveness and readiness of background processes, and their probe port's answers."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from shared.observability import metrics
from shared.runtime.health import ProcessHealth
from shared.runtime.probes import probe_app


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_process_whose_loop_stops_coming_round_is_no_longer_live_nor_ready():
    clock = Clock()
    health = ProcessHealth(stall_after_s=30, clock=clock)
    health.report("broker", True)
    assert health.live().ok and health.ready().ok
    clock.now += 31
    assert not health.live().ok and not health.ready().ok
    health.beat()
    assert health.live().ok and health.ready().ok


def test_a_failing_signal_makes_it_unready_but_still_live_and_says_which():
    health = ProcessHealth()
    health.report("broker", False, "sends not acknowledged")
    health.report("loop", True)
    verdict = health.ready()
    assert not verdict.ok and verdict.status == 503
    assert verdict.body["checks"] == {"broker": "sends not acknowledged", "loop": "ok"}
    assert health.live().ok


def test_the_probe_port_answers_metrics_liveness_and_readiness_with_extra_checks():
    health = ProcessHealth()
    metrics.OUTBOX_PUBLISHED.labels("probe-test").inc(3)
    gauges = metrics.CallbackGauges(lambda: [("coins_outbox_backlog_events", "waiting", {"service": "probe-test"}, 7)])
    broker = {"broker": "ok"}
    client = Client(probe_app(health, [gauges], ready_checks=lambda: dict(broker)))
    scrape = client.get("/metrics")
    assert scrape.status_code == 200
    assert 'coins_outbox_published_total{service="probe-test"} 3.0' in scrape.text
    assert 'coins_outbox_backlog_events{service="probe-test"} 7.0' in scrape.text
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    broker["broker"] = "unreachable"
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json["checks"]["broker"] == "unreachable"
    assert client.get("/nothing").status_code == 404


def test_a_scrape_time_gauge_that_fails_leaves_the_rest_of_the_scrape_intact():
    def broken():
        raise RuntimeError("database away")

    body, _ = metrics.render([metrics.CallbackGauges(broken)])
    assert b"# TYPE coins_http_requests_total counter" in body


def test_idle_connections_hold_at_most_a_bounded_number_of_probe_threads_for_a_bounded_time(monkeypatch):
    import socket
    import urllib.request

    from shared.runtime import probes

    monkeypatch.setattr(probes._QuietHandler, "timeout", 0.5)
    server = probes.serve(0, probe_app(ProcessHealth(stall_after_s=30)), host="127.0.0.1")
    port = server.server_port
    try:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]  # never send a request
        for sock in idle:
            sock.settimeout(5)
        # Each idle connection is closed: at once past the bound, after the handler's timeout within it.
        assert all(sock.recv(1) == b"" for sock in idle)
        for sock in idle:
            sock.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.shutdown()


def test_a_probe_request_sent_a_byte_at_a_time_is_cut_at_its_deadline(monkeypatch):
    import socket
    import time

    from shared.runtime import probes

    monkeypatch.setattr(probes._QuietHandler, "timeout", 0.5)
    monkeypatch.setattr(probes._BoundedServer, "deadline_s", 1.0)
    server = probes.serve(0, probe_app(ProcessHealth(stall_after_s=30)), host="127.0.0.1")
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=5) as slow:
            started = time.monotonic()
            for byte in b"GET /health/live HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                try:
                    slow.send(bytes([byte]))
                except OSError:
                    break  # cut by the server
                time.sleep(0.2)  # pacing the client: each byte within the per-read timeout
                if time.monotonic() - started > 8:
                    break
            try:
                answer = slow.recv(100)
            except ConnectionResetError:  # a byte sent after the cut
                answer = b""
            assert answer == b""  # closed without an answer
            assert time.monotonic() - started < 4
    finally:
        server.shutdown()


def test_a_refreshed_reading_costs_one_read_per_interval_whatever_the_rate_and_keeps_its_errors():
    import threading

    from shared.runtime.health import Refreshed

    clock, reads, reading_started, release = Clock(), [], threading.Event(), threading.Event()

    def read():
        reads.append(clock.now)
        if len(reads) == 2:
            reading_started.set()
            release.wait(5)
        if len(reads) == 3:
            raise ConnectionError("database away")
        return len(reads)

    reading = Refreshed(read, every_s=1.0, clock=clock)
    assert [reading.get() for _ in range(100)] == [1] * 100 and len(reads) == 1
    clock.now += 1.5
    slow = threading.Thread(target=reading.get)
    slow.start()  # this caller reads again, and waits on the slow reading
    assert reading_started.wait(5)
    assert [reading.get() for _ in range(100)] == [1] * 100 and len(reads) == 2  # the others do not
    release.set()
    slow.join(5)
    assert reading.get() == 2 and len(reads) == 2
    clock.now += 1.5
    with pytest.raises(ConnectionError):
        reading.get()
    with pytest.raises(ConnectionError):
        reading.get()  # the error is the latest reading until the next one
    assert len(reads) == 3
