"""The batch gift API's load: N threads, each sending one batch after another to
`POST /v1/gift-batches` (as bench/system.py `gift_load` sends single gifts), until a count of
gifts or a time limit. Only ever aimed at 127.0.0.1."""

from __future__ import annotations

import itertools
import random
import uuid

import orjson
import requests

from bench.load import LoadResult, run_load


def batch_load(
    stack,
    token,
    viewers: list[str],
    *,
    concurrency: int,
    seconds: float,
    max_ops: int,
    batch_size: int = 1000,
    interval_s: float = 0.0,
    stop=None,
    hot_creator: str | None = None,
) -> LoadResult:
    """`ops` counts gifts created (not requests), `errors` gifts asked for and not created (a
    refused item, or every item of a failed request); `latencies_ms` one per request. Each thread
    sends from its own share of `viewers` (all of them if there are fewer than threads), so that
    concurrent batches do not queue on the same wallets' locks; `token(service)` is a bearer token
    of a caller acting for any user (the gateway): the items carry no grants. `interval_s` and
    `stop`: as bench.load.run_load's (a batch every `interval_s` per thread; stop early)."""
    url = f"{stack.url('gifting')}/v1/gift-batches"

    def make_worker(index: int):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token('gifting')}"
        session.headers["Content-Type"] = "application/json"
        rnd = random.Random(index)
        senders = viewers[index::concurrency] or viewers
        turns = itertools.count()

        def op(size: int) -> int:
            batch_key = uuid.uuid4().hex  # each item's key is the batch's and its index: unique, and cheap
            gifts = [
                {
                    "sender_id": senders[next(turns) % len(senders)],
                    "creator_id": hot_creator or f"creator-{rnd.randrange(1000)}",
                    "gift_id": "rose",
                    "idempotency_key": f"{batch_key}-{item}",
                }
                for item in range(size)
            ]
            try:  # orjson: the client shares the machine's two cores with the stack it measures
                response = session.post(url, data=orjson.dumps({"gifts": gifts}), timeout=60)
                if response.status_code != 200:
                    return 0
                return sum(r["outcome"] == "created" for r in orjson.loads(response.content)["results"])
            except (requests.RequestException, ValueError, KeyError):
                return 0

        return op

    return run_load(
        make_worker,
        concurrency=concurrency,
        seconds=seconds,
        max_ops=max_ops,
        units_per_op=batch_size,
        interval_s=interval_s,
        stop=stop,
        join_grace_s=120,
    )
