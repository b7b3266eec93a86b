"""The sustained step's search for the highest rate that holds, its lag verdicts, and the load's
cadence: offered rates never above what is asked, and a stop that ends a try early."""

import itertools
import threading

from bench.load import run_load
from bench.sustained import judge_lag, lower_rate, search


def a_try(rate: float, *, holds: bool, credited_rate: float, accepted_rate: float | None = None) -> dict:
    return {
        "offered_rate": rate,
        "rate": min(rate, credited_rate),
        "accepted_rate": rate if accepted_rate is None else accepted_rate,
        "credited_rate": credited_rate,
        "lag_bounded": holds,
        "lag_not_growing": holds,
    }


def offers(tries: list[dict]) -> list[float]:
    return [round(t["offered_rate"]) for t in tries]


def test_the_search_goes_down_from_a_failed_try_then_between_the_two():
    def attempt(rate):
        return a_try(rate, holds=rate <= 1700, credited_rate=1600 if rate > 1700 else rate)

    tries, chosen = search(2000, attempt, tries=4, seconds=60, budget_s=10_000)
    # 2000 fails having credited 1600/s: next 0.95 x 1600 = 1520 (within 0.5-0.9 of 2000), which
    # holds; then between the two (1760: fails), then between 1520 and 1760.
    assert offers(tries) == [2000, 1520, 1760, 1640]
    assert chosen is tries[-1] and chosen["rate"] == 1640  # the holding try that credited most


def test_the_search_stops_once_a_held_and_a_failed_rate_are_within_ten_percent():
    attempt = lambda rate: a_try(rate, holds=rate <= 1550, credited_rate=1500)  # noqa: E731
    tries, chosen = search(1600, attempt, tries=10, seconds=60, budget_s=10_000)
    # 1600 fails: 0.95 x 1500 = 1425 holds; 1512 between them holds, and 1600 <= 1.1 x 1512.
    assert offers(tries) == [1600, 1425, 1512] and chosen is tries[2]


def test_a_first_try_that_holds_is_followed_by_a_higher_one():
    attempt = lambda rate: a_try(rate, holds=rate <= 2600, credited_rate=rate)  # noqa: E731
    tries, chosen = search(2000, attempt, tries=3, seconds=60, budget_s=10_000)
    assert offers(tries) == [2000, 2500, 3125]
    assert chosen is tries[1]


def test_a_try_the_web_tier_could_not_accept_in_full_ends_the_search():
    attempt = lambda rate: a_try(rate, holds=True, credited_rate=1500, accepted_rate=1500)  # noqa: E731
    tries, chosen = search(2000, attempt, tries=4, seconds=60, budget_s=10_000)
    assert len(tries) == 1 and chosen["rate"] == 1500


def test_when_no_try_holds_the_last_one_is_the_figure_so_the_target_is_missed():
    never = lambda rate: a_try(rate, holds=False, credited_rate=100)  # noqa: E731
    tries, chosen = search(2000, never, tries=3, seconds=60, budget_s=1e9)
    assert offers(tries) == [2000, 1000, 500]  # at most half lower each time
    assert chosen is tries[-1] and not chosen["lag_bounded"]


def test_no_try_starts_that_could_not_end_within_the_budget():
    now = itertools.count(0, 70)  # each clock reading 70 s later than the one before
    tries, _ = search(
        2000,
        lambda rate: a_try(rate, holds=False, credited_rate=1000),
        tries=10,
        seconds=60,
        budget_s=190,
        clock=lambda: next(now),
    )
    assert len(tries) == 2  # began at 0; at 70 a second (ends by 130); at 140 + 60 > 190 none


def test_a_failed_try_lowers_the_rate_by_ten_to_fifty_percent():
    assert lower_rate(2000, 1900) == 1800  # just under the credited rate would be too close
    assert lower_rate(2000, 1700) == 1615
    assert lower_rate(2000, 200) == 1000


def samples(lags: list[int]) -> list[dict]:
    return [{"t_s": float(t), "lag": lag} for t, lag in enumerate(lags, 1)]


def test_the_lag_is_bounded_by_two_seconds_of_the_rate_plus_the_gifts_in_flight():
    steady = [1500, 1800, 1600, 1700, 1650, 1750]
    assert judge_lag(samples(steady), rate=2000, in_flight=2000) | {"lag_trend_per_s": 0} == {
        "lag_max": 1800,
        "lag_bound": 6000,
        "lag_trend_per_s": 0,
        "lag_bounded": True,
        "lag_not_growing": True,
    }
    assert judge_lag(samples(steady + [6001]), rate=2000, in_flight=2000)["lag_bounded"] is False


def test_a_lag_that_keeps_growing_under_its_bound_is_growing():
    growing = [0, 500, 1000, 1500, 2000, 3000, 3500, 4500, 5500]  # the bound: 2 x 3000 + 500
    verdict = judge_lag(samples(growing), rate=3000, in_flight=500)
    assert verdict["lag_bounded"] is True and verdict["lag_not_growing"] is False


def test_a_lag_creeping_up_a_few_percent_of_the_rate_is_growing():
    # 1,700 gifts/s offered, 80/s more than credited, for a minute: under the bound (5,400) and
    # under 1.25 x the middle third plus the 2,000 in flight; its trend adds 3,120 over 39 s.
    creeping = [80 * t for t in range(60)]
    verdict = judge_lag(samples(creeping), rate=1700, in_flight=2000)
    assert verdict["lag_bounded"] is True and verdict["lag_trend_per_s"] == 80.0
    assert verdict["lag_not_growing"] is False


def test_a_lag_that_jitters_by_a_batch_is_not_growing():
    jitter = [0, 250, 0, 109, 0, -250, 250, 0, 0, 249] * 6  # a held 60 s try's, as measured
    verdict = judge_lag(samples(jitter), rate=1300, in_flight=2000)
    assert verdict["lag_bounded"] is True and verdict["lag_not_growing"] is True


def test_a_cadence_never_offers_more_than_asked():
    calls = []

    def make_worker(_index):
        return lambda n: calls.append(n) or n

    result = run_load(make_worker, concurrency=2, seconds=0.25, max_ops=10_000, units_per_op=10, interval_s=0.1)
    # Slots at 0, 0.1, 0.2 s (one thread) and 0.05, 0.15 s (the other): five at most, never a burst.
    assert 1 <= len(calls) <= 5 and result.ops == 10 * len(calls)


def test_a_stop_ends_the_load_after_the_op_in_flight():
    stop = threading.Event()
    done = itertools.count(1)

    def make_worker(_index):
        def op(n):
            if next(done) == 3:
                stop.set()
            return n

        return op

    result = run_load(make_worker, concurrency=1, seconds=60, max_ops=1000, stop=stop)
    assert result.ops == 3
