"""A bounded closed-loop load generator: N threads, each doing one operation after another,
until a count or a time limit. Only ever aimed at 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    concurrency: int
    ops: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> dict:
        return {
            "concurrency": self.concurrency,
            "ops": self.ops,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
        }


def run_load(
    make_worker: Callable[[int], Callable[[int], int]],
    *,
    concurrency: int,
    seconds: float,
    max_ops: int,
    units_per_op: int = 1,
    interval_s: float = 0.0,
    stop: threading.Event | None = None,
    join_grace_s: float = 60.0,
) -> LoadResult:
    """make_worker(thread_index) -> op(n), n the units it is to do (at most `units_per_op` of the
    run's `max_ops`), returning how many it did (True/False for one); runs until seconds or
    max_ops, or until `stop` is set (each thread finishes its op). `ops` counts units done,
    `errors` units not done, `latencies_ms` one per op.

    `interval_s`: each thread starts an op every `interval_s` (the threads' starts spread evenly
    over one interval), so together they offer concurrency x units_per_op / interval_s units a
    second whatever the latency; the wait for a slot is not in the latency. An op that overruns
    its slot is followed at once: at most `concurrency` ops are ever in flight."""
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"ops": 0, "errors": 0, "issued": 0}
    deadline = time.perf_counter() + seconds
    ready = threading.Barrier(concurrency + 1)
    stop = stop or threading.Event()

    def take() -> int:
        with lock:
            granted = max(0, min(units_per_op, max_ops - counts["issued"]))
            counts["issued"] += granted
            return granted

    def worker(index: int) -> None:
        op = make_worker(index)
        mine: list[float] = []
        ready.wait()
        slot = time.perf_counter() + interval_s * index / concurrency
        while True:
            if interval_s:
                if stop.wait(max(0.0, min(slot, deadline) - time.perf_counter())):
                    break
                slot += interval_s
            if time.perf_counter() >= deadline or stop.is_set() or not (n := take()):
                break
            started = time.perf_counter()
            done = int(op(n))
            mine.append((time.perf_counter() - started) * 1000)
            with lock:
                counts["ops"] += done
                counts["errors"] += n - done
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(timeout=seconds + join_grace_s)
    return LoadResult(concurrency, counts["ops"], counts["errors"], time.perf_counter() - started, latencies)
