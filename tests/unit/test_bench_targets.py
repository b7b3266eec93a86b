"""The benchmark's target ratios: the gift API against B_flask from the alternating rounds."""

from bench.run import targets


def results(**extra) -> dict:
    flask = [{"concurrency": c, "rate": rate, "p99_ms": p99} for c, rate, p99 in ((8, 900.0, 20.0), (32, 1000.0, 40.0))]
    gifts = [{"concurrency": c, "rate": rate} for c, rate in ((8, 600.0), (32, 650.0))]
    return {
        "levels": [8, 32],
        "B_pg": [{"concurrency": 8, "rate": 400.0}],
        "B_flask": flask,
        "gift_api": gifts,
        "B_kafka": {"p99_ms": 30.0},
        "end_to_end": {"concurrency": 32, "p99_ms": 75.0},
        "consumer_backlog": {"rate": 2000.0},
        "hot_creator": {"rate": 600.0},
        **extra,
    }


def test_the_gift_ratio_is_the_median_of_the_alternating_rounds():
    paired = {
        "rounds": [
            {"ratio": 0.66, "hot_ratio": 0.95},
            {"ratio": 0.74, "hot_ratio": 0.79},
            {"ratio": 0.72, "hot_ratio": 1.02},
        ],
        "median_ratio": 0.72,
        "median_hot_ratio": 0.95,
    }
    out = targets(results(paired=paired))
    assert out["gift_api_vs_B_flask"]["ratio"] == 0.72
    assert out["gift_api_vs_B_flask"]["met"] is True
    assert out["gift_api_vs_B_flask"]["measured"] == "median of 3 alternating rounds"
    assert out["info_gift_api_vs_B_flask_sweeps"]["ratio"] == 0.65  # the sweeps alone: 650 / 1000
    assert out["hot_vs_uniform"]["ratio"] == 0.95  # not 600 / 650 from the sweep
    assert out["hot_vs_uniform"]["measured"] == "median of 3 alternating rounds"


def test_without_rounds_the_sweeps_best_rates_decide():
    out = targets(results())
    assert out["gift_api_vs_B_flask"] == {
        "ratio": 0.65,
        "target": ">= 0.7",
        "met": False,
        "measured": "best rates of the two sweeps",
    }
    assert out["hot_vs_uniform"]["ratio"] == round(600 / 650, 3)


def test_the_end_to_end_budget_takes_b_flask_p99_at_the_end_to_end_concurrency():
    out = targets(results())
    assert out["end_to_end_p99_vs_budget"]["budget_ms"] == 30.0 + 3 * 40.0
    assert out["end_to_end_p99_vs_budget"]["ratio"] == 0.5
    assert out["consumer_backlog_vs_B_pg_c1"]["ratio"] == 5.0  # no level 1 here: the first B_pg level


def test_a_hot_median_of_zero_is_a_miss_not_a_fallback_to_the_sweep():
    paired = {"rounds": [{"ratio": 0.8, "hot_ratio": 0.0}], "median_ratio": 0.8, "median_hot_ratio": 0.0}
    out = targets(results(paired=paired))
    assert out["hot_vs_uniform"]["ratio"] == 0.0 and out["hot_vs_uniform"]["met"] is False
