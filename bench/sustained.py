"""The sustained end-to-end rate: the highest rate of gifts that are both accepted by the batch API
and credited as diamonds over --sustained-seconds, with the pipeline's lag (accepted, not yet
credited) bounded and not growing. Offering more than the pipeline carries measures an overload,
not a sustained rate, so the run searches for the rate:

1. the pipeline's capacity: how fast it drains a backlog with the web idle (the batch step's
   leftover backlog, or a short probe that makes one), timed from payout's inbox rows;
2. a try at --sustained-share of that capacity for --sustained-seconds (a try stops early once the
   lag passes its bound: it has failed, and its backlog stays small to drain);
3. a failed try is followed by one at a lower rate: 0.95 x the rate it credited, kept within 0.5-0.9
   of its offer; at most --sustained-tries tries, within a time budget. The first try that holds is
   the figure; if none does, the last one is (so the target is missed, not claimed).

No try goes above the first: the web-idle capacity is the ceiling of what the pipeline carries
with the web tier busy on the same CPUs, so a first try that holds is within 10% of the highest.

The load: CLIENTS threads, each sending a batch of BATCH gifts on a fixed cadence (an open
schedule, staggered), so the offered rate is what is asked whatever the request latency. A live
stream's service hands over a second's taps or so at a time: at ~2,000 gifts/s, 8 clients of
250 gifts send 8 batches a second, smooth on a 1 s lag sample, with at most 2,000 gifts in flight
(about a second of the rate: a small part of the lag bound, where 64 clients of 1,000 had 64,000);
250 items keep the per-request cost (HTTP, auth) a few percent of the items' own; 8 threads leave
the CPUs to the stack.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

import psycopg

from bench.batch import batch_load
from bench.context import wait_for
from bench.system import pipeline_counts
from shared.clock import utcnow
from shared.contracts import GIFT_SENT

CLIENTS = 8
BATCH = 250
MIN_BACKLOG = 2000  # a smaller backlog drains too fast to time: a probe makes one
PROBE_BATCH = 1000  # the probe only fills a backlog: as fast as the batch API takes it
BOUND_SECONDS = 2.0  # the lag may reach two seconds of the offered rate, plus the gifts in flight
GROWTH = 1.25  # the last third's mean lag at most 1.25 x the middle third's, plus the gifts in flight


def timed_drain(run, timeout: float = 600.0) -> dict:
    """Wait until the pipeline has drained what it holds (the web idle) and time it: gifts credited
    from now on, over the time from now to the last credit (payout's inbox timestamps)."""
    start = time.monotonic()
    since = utcnow()
    wait_for(run.drained, timeout)
    waited = time.monotonic() - start
    with psycopg.connect(run.databases["payout"]) as conn:
        credited, last = conn.execute(
            "SELECT count(*), max(processed_at) FROM inbox WHERE topic = %s AND processed_at >= %s",
            (GIFT_SENT.topic, since),
        ).fetchone()
    seconds = (last - since).total_seconds() if last else 0.0
    return {
        "backlog": credited,
        "seconds": round(seconds, 2),
        "rate": round(credited / seconds, 1) if seconds > 0 else 0.0,
        "waited_s": round(waited, 1),
    }


def probe(run) -> dict:
    """A backlog made by the batch API at full speed for --seconds, then its drain timed."""
    wait_for(run.drained, timeout=600)
    load = batch_load(
        run.stack,
        run.token,
        run.viewers,
        concurrency=CLIENTS,
        seconds=run.args.seconds,
        max_ops=10**9,
        batch_size=PROBE_BATCH,
    )
    return {"measured": f"a probe: {load.ops} gifts in {load.seconds:.1f} s, then their drain", **timed_drain(run)}


def sustained(run, capacity: dict) -> dict:
    """The search above from `capacity` (a timed drain); the chosen try's figures at the top level
    (the keys bench.targets reads), every try under `tries`."""
    args = run.args
    budget_s = args.sustained_tries * (args.sustained_seconds + 60)

    def attempt(rate: float) -> dict:
        wait_for(run.drained, timeout=600)
        run.say(f"sustained: {rate:.0f} gifts/s for {args.sustained_seconds:.0f} s")
        return one_try(run, rate=rate, seconds=args.sustained_seconds)

    tries, chosen = search(
        args.sustained_share * capacity["rate"],
        attempt,
        tries=args.sustained_tries,
        seconds=args.sustained_seconds,
        budget_s=budget_s,
    )
    wait_for(run.drained, timeout=600)
    return {
        **chosen,
        "capacity": capacity,
        "tries": [{k: v for k, v in t.items() if k != "lag_samples"} | {"lags": _lags(t)} for t in tries],
        "method": f"first try at {args.sustained_share} x the capacity; the first try that holds (else the last)",
    }


def search(
    start_rate: float,
    attempt: Callable[[float], dict],
    *,
    tries: int,
    seconds: float,
    budget_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[dict], dict]:
    """Tries from `start_rate` down until one holds (lag bounded and not growing), at most `tries`,
    none started when it could not end within `budget_s`. Returns every try and the chosen one."""
    began, done, rate = clock(), [], start_rate
    while len(done) < max(1, tries):
        if done and clock() - began + seconds > budget_s:
            break
        result = attempt(rate)
        done.append(result)
        if holds(result):
            return done, result
        rate = lower_rate(rate, result["credited_rate"])
    return done, done[-1]


def holds(result: dict) -> bool:
    return bool(result["lag_bounded"] and result["lag_not_growing"])


def lower_rate(offered: float, credited_rate: float) -> float:
    """After a failed try: a little under what the pipeline credited meanwhile (its capacity with
    the web busy), at least 10% and at most half below the failed offer."""
    return min(0.9 * offered, max(0.5 * offered, 0.95 * credited_rate))


def judge_lag(lags: list[int], *, rate: float, in_flight: int) -> dict:
    """Bounded: the lag never passed BOUND_SECONDS of the offered rate plus the gifts in flight;
    not growing: its mean over the last third is at most GROWTH x the middle third's plus the gifts
    in flight (a try stopped early has too few samples to show growth: it failed on its bound)."""
    bound = BOUND_SECONDS * rate + in_flight
    third = max(1, len(lags) // 3)
    middle, last = lags[third : 2 * third] or lags, lags[-third:]
    return {
        "lag_max": max(lags),
        "lag_bound": round(bound),
        "lag_bounded": max(lags) <= bound,
        "lag_not_growing": statistics.fmean(last) <= GROWTH * statistics.fmean(middle) + in_flight,
    }


def one_try(run, *, rate: float, seconds: float) -> dict:
    """Batches offered at `rate` gifts/s for `seconds`, the lag sampled every second; stopped early
    once the lag passes its bound. The rate is what was accepted AND credited within the try."""
    gifting, payout = run.databases["gifting"], run.databases["payout"]
    in_flight = CLIENTS * BATCH
    bound = BOUND_SECONDS * rate + in_flight
    since, samples, done, stop = utcnow(), [], threading.Event(), threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not done.wait(1.0):
            accepted, credited = pipeline_counts(gifting, payout, since)
            samples.append(
                {"t_s": round(time.monotonic() - started, 1), "accepted": accepted, "lag": accepted - credited}
            )
            if accepted - credited > bound:
                stop.set()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        load = batch_load(
            run.stack,
            run.token,
            run.viewers,
            concurrency=CLIENTS,
            seconds=seconds,
            max_ops=10**9,
            batch_size=BATCH,
            interval_s=CLIENTS * BATCH / max(rate, 1.0),
            stop=stop,
        )
    finally:
        done.set()
        sampler.join()
    accepted, credited = pipeline_counts(gifting, payout, since)
    lags = [s["lag"] for s in samples] or [accepted - credited]
    elapsed = max(load.seconds, 1e-3)
    return {
        "seconds": round(load.seconds, 1),
        "stopped_early": stop.is_set(),
        "concurrency": CLIENTS,
        "batch_size": BATCH,
        "offered_rate": round(rate, 1),
        "accepted": accepted,
        "credited": credited,
        "rate": round(min(accepted, credited) / elapsed, 1),
        "accepted_rate": round(accepted / elapsed, 1),
        "credited_rate": round(credited / elapsed, 1),
        "errors": load.errors,
        "request_p50_ms": round(load.percentile(50), 1),
        "lag_samples": samples,
        **judge_lag(lags, rate=rate, in_flight=in_flight),
    }


def _lags(result: dict) -> list[int]:
    return [s["lag"] for s in result.get("lag_samples", [])]
