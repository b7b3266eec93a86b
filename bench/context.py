"""What the steps of a run share: its databases, broker, stack, bare app, viewers and results,
and the few loads and waits every step uses. Closing it stops whatever the steps started."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import system
from bench.load import LoadResult
from coinsctl.apache_kafka import ApacheKafka
from coinsctl.keys import local_token
from shared.contracts import GIFT_SENT


@dataclass(frozen=True)
class Step:
    name: str  # what --only calls it
    label: str
    run: Callable[[Run], None]
    needs: tuple[str, ...] = ()  # steps whose figures or processes it uses (run before it with --only)
    when: Callable[[argparse.Namespace], bool] = lambda args: True


@dataclass
class Run:
    args: argparse.Namespace
    work: Path
    admin_url: str | None
    databases: dict[str, str]  # "pg" (the baselines') and each service's
    broker: ApacheKafka
    results: dict = field(default_factory=dict)
    stack: object | None = None  # coinsctl.stack.Stack, once started
    bare: object | None = None  # bench.baselines.BareFlask
    viewers: list[str] = field(default_factory=list)  # funded senders, one per client at most
    say: Callable[[str], None] = lambda label: None  # the progress line
    on_cdc: bool = False  # Debezium publishes gifting's outbox: its rows are marked later, not as sent
    injected: int = 0  # gift events applied that no outbox wrote (the backlog's): drained() allows for them
    closers: list[Callable[[], None]] = field(default_factory=list)  # run last first by close()

    def token(self, service: str) -> str:
        """A gateway token for `service`, minted per load: tokens live at most 15 minutes."""
        return local_token(self.stack.var_dir, "gateway", service)

    # -- the figures later steps are set by ---------------------------------------------------------
    @property
    def best_gift(self) -> dict:
        """The single-gift sweep's best level."""
        return max(self.results["gift_api"], key=lambda r: r["rate"])

    @property
    def flask_level(self) -> int:
        """B_flask's best concurrency: the client count the batch and end-to-end runs use."""
        return max(self.results["B_flask"], key=lambda r: r["rate"])["concurrency"]

    # -- loads and waits ----------------------------------------------------------------------------
    def gifts(self, *, concurrency: int, seconds: float | None = None, **kw) -> LoadResult:
        """Single gifts from the viewers, bounded by --seconds and --max-ops unless told."""
        return system.gift_load(
            self.stack,
            self.token,
            self.viewers,
            concurrency=concurrency,
            seconds=self.args.seconds if seconds is None else seconds,
            max_ops=kw.pop("max_ops", self.args.max_ops),
            **kw,
        )

    def drained(self) -> bool:
        return system.pipeline_drained(
            self.databases["gifting"], self.databases["payout"], self.injected, check_unpublished=not self.on_cdc
        )

    def gift_latencies(self, since) -> list[float]:
        """ms from each gift's commit (its outbox row) to its diamonds (payout's inbox row) since `since`."""
        return system.hop_latencies(self.databases["gifting"], self.databases["payout"], GIFT_SENT.topic, since)

    def wait_applied(self, since, count: int, timeout: float = 300.0) -> list[float]:
        """Wait until `count` gifts made since `since` are credited; their latencies."""
        found: list[float] = []

        def enough() -> bool:
            found[:] = self.gift_latencies(since)
            return len(found) >= count

        wait_for(enough, timeout)
        return found

    def close(self) -> None:
        while self.closers:
            try:
                self.closers.pop()()
            except Exception as exc:  # one failed stop must not leave the rest running
                print(f"bench: stopping failed: {exc!r}")


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for events to be applied")
        time.sleep(0.5)


def latency_summary(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda p: round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2) if ordered else 0.0  # noqa
    return {"samples": len(ordered), "p50_ms": pick(50), "p99_ms": pick(99)}
