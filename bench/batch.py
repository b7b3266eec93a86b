"""The batch gift API's load: N threads, each sending one batch after another to
`POST /v1/gift-batches` (as bench/system.py `gift_load` sends single gifts), until a count of
gifts or a time limit. Only ever aimed at 127.0.0.1."""

from __future__ import annotations

import random
import threading
import time
import uuid

import requests

from bench.load import LoadResult


def batch_load(
    stack,
    token,
    viewers: list[str],
    *,
    concurrency: int,
    seconds: float,
    max_ops: int,
    batch_size: int = 1000,
    pace_s: float = 0.0,
    hot_creator: str | None = None,
) -> LoadResult:
    """`ops` counts gifts created (not requests), `errors` gifts asked for and not created (a
    refused item, or every item of a failed request); `latencies_ms` one per request. Each thread
    sends from its own share of `viewers` (all of them if there are fewer than threads), so that
    concurrent batches do not queue on the same wallets' locks; `token(service)` is a bearer token
    of a caller acting for any user (the gateway): the items carry no grants."""
    url = f"{stack.url('gifting')}/v1/gift-batches"
    lock = threading.Lock()
    counts = {"ops": 0, "errors": 0, "asked": 0}
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    ready = threading.Barrier(concurrency + 1)

    def take(n: int) -> int:
        """Reserve up to n more gifts of the run's `max_ops`."""
        with lock:
            granted = max(0, min(n, max_ops - counts["asked"]))
            counts["asked"] += granted
            return granted

    def worker(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token('gifting')}"
        rnd = random.Random(index)
        senders = viewers[index::concurrency] or viewers
        mine: list[float] = []
        ready.wait()
        turn = 0
        while time.perf_counter() < deadline:
            size = take(batch_size)
            if size == 0:
                break
            gifts = []
            for _ in range(size):
                gifts.append(
                    {
                        "sender_id": senders[turn % len(senders)],
                        "creator_id": hot_creator or f"creator-{rnd.randrange(1000)}",
                        "gift_id": "rose",
                        "idempotency_key": uuid.uuid4().hex,
                    }
                )
                turn += 1
            started = time.perf_counter()
            try:
                response = session.post(url, json={"gifts": gifts}, timeout=60)
                created = (
                    sum(r["outcome"] == "created" for r in response.json()["results"])
                    if response.status_code == 200
                    else 0
                )
            except (requests.RequestException, ValueError, KeyError):
                created = 0
            mine.append((time.perf_counter() - started) * 1000)
            with lock:
                counts["ops"] += created
                counts["errors"] += size - created
            if pace_s:
                time.sleep(pace_s)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(timeout=seconds + 120)
    return LoadResult(concurrency, counts["ops"], counts["errors"], time.perf_counter() - started, latencies)
