"""bench/batch.py's load driver against a real gifting app served over HTTP on PostgreSQL: it
counts gifts created, one latency per request, and the books balance afterwards."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from bench.batch import batch_load
from tests.integration.test_gift_batches import balance, books_balance
from tests.integration.test_gifting_api import fund

pytestmark = pytest.mark.integration


class _Stack:
    """What the bench's drivers need of a stack: each service's base URL."""

    def __init__(self, port: int):
        self.port = port

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_batch_load_sends_batches_and_counts_the_gifts_they_create(make_service, caller_keys, auth_for):
    svc, client = make_service("gifting", backend="postgres")
    viewers = ["v1", "v2", "v3"]
    for viewer in viewers:
        fund(svc, viewer, 1000)
    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = batch_load(
            _Stack(server.server_port),
            lambda service: caller_keys.token("gateway", service),
            viewers,
            concurrency=2,
            seconds=60,
            max_ops=250,
            batch_size=100,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert (result.ops, result.errors) == (250, 0)
    assert len(result.latencies_ms) == 3  # 100 + 100 + 50 gifts
    assert sum(1000 - balance(svc, viewer) for viewer in viewers) == 250
    books_balance(svc, client, auth_for("gifting"))
