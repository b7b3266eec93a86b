"""The sustained end-to-end rate: the highest rate of gifts that are both accepted by the batch API
and credited as diamonds over --sustained-seconds, with the pipeline's lag (accepted, not yet
credited) bounded and not growing. Offering more than the pipeline carries measures an overload,
not a sustained rate, so the run searches for the rate:

1. the pipeline's capacity: how fast it drains a backlog with the web idle (the batch step's
   leftover backlog, or a short probe that makes one), timed from payout's inbox rows;
2. a try at --sustained-share of that capacity for --sustained-seconds (a try stops early once the
   lag passes its bound: it has failed, and its backlog stays small to drain);
3. after a failed try, one lower (0.95 x the rate it credited, 10-50% under its offer: the
   pipeline's capacity with the web busy on the same CPUs is below its idle one); after a try that
   holds, one higher (1.25 x; the idle capacity, timed on a shared machine, can be low); once a
   rate held and one failed, the one between them, until they are within 10% of each other, the
   web tier accepts less than a try offers (its ceiling, not the pipeline's), --sustained-tries
   tries were made, or the time budget is spent.

The figure is the try that held with the highest rate accepted and credited; if none held, the
last try (so the target is missed, not claimed). Every try is in `tries`.

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
UP = 1.25  # the next try after one that held, with no failed one above it
CLOSE_ENOUGH = 1.1  # a failed offer within 10% of one that held ends the search
WEB_SHORTFALL = 0.95  # a try that held accepting under 95% of its offer: the web tier's ceiling


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
    drain = timed_drain(run)
    measured = f"a probe: {load.ops} gifts in {load.seconds:.1f} s, then their drain"
    if drain["backlog"] < MIN_BACKLOG:  # the pipeline kept up with the batch API: at least that fast
        drain["rate"], measured = round(load.rate, 1), measured + " (too small to time: the probe's rate)"
    return {"measured": measured, **drain}


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
        "method": f"first try at {args.sustained_share} x the capacity; the try that held with the highest rate "
        "(else the last)",
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
    """Tries from `start_rate` as the module says, at most `tries`, none started when it could not
    end within `budget_s`. Returns every try and the chosen one."""
    began, done, rate = clock(), [], start_rate
    held = failed = None  # the highest offer that held, the lowest that failed
    while len(done) < max(1, tries):
        if done and clock() - began + seconds > budget_s:
            break
        result = attempt(rate)
        done.append(result)
        if holds(result):
            held = max(held or 0.0, rate)
            if result["accepted_rate"] < WEB_SHORTFALL * rate:
                break
        else:
            failed = min(failed or rate, rate)
        if held and failed:
            if failed <= CLOSE_ENOUGH * held:
                break
            rate = (held + failed) / 2
        elif held:
            rate = UP * held
        else:
            rate = lower_rate(rate, result["credited_rate"])
    holding = [t for t in done if holds(t)]
    return done, max(holding, key=lambda t: t["rate"]) if holding else done[-1]


def holds(result: dict) -> bool:
    return bool(result["lag_bounded"] and result["lag_not_growing"])


def lower_rate(offered: float, credited_rate: float) -> float:
    """After a failed try: a little under what the pipeline credited meanwhile (its capacity with
    the web busy), at least 10% and at most half below the failed offer."""
    return min(0.9 * offered, max(0.5 * offered, 0.95 * credited_rate))


def judge_lag(samples: list[dict], *, rate: float, in_flight: int) -> dict:
    """`samples`: {"t_s", "lag"} about a second apart. Bounded: the lag never passed BOUND_SECONDS
    of the offered rate plus the gifts in flight. Not growing: its mean over the last third is at
    most GROWTH x the middle third's plus the gifts in flight, and its trend (least squares) over
    the last two thirds adds less than the gifts in flight across them: a lag creeping up by a few
    percent of the rate stays under the other two checks for a minute, and grows without end.
    (A try stopped early has too few samples to show growth: it failed on its bound.)"""
    lags = [s["lag"] for s in samples]
    third = max(1, len(lags) // 3)
    middle, last = lags[third : 2 * third] or lags, lags[-third:]
    tail = samples[third:] if len(samples) >= 3 else []
    trend = _slope([s["t_s"] for s in tail], [s["lag"] for s in tail]) if len(tail) >= 2 else 0.0
    span = tail[-1]["t_s"] - tail[0]["t_s"] if tail else 0.0
    bound = BOUND_SECONDS * rate + in_flight
    return {
        "lag_max": max(lags),
        "lag_bound": round(bound),
        "lag_trend_per_s": round(trend, 1),
        "lag_bounded": max(lags) <= bound,
        "lag_not_growing": statistics.fmean(last) <= GROWTH * statistics.fmean(middle) + in_flight
        and trend * span <= in_flight,
    }


def _slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


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
    judged = samples or [{"t_s": 0.0, "lag": accepted - credited}]
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
        **judge_lag(judged, rate=rate, in_flight=in_flight),
    }


def _lags(result: dict) -> list[int]:
    return [s["lag"] for s in result.get("lag_samples", [])]
