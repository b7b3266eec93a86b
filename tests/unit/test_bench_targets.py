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
        "end_to_end": {"concurrency": 32, "p50_ms": 12.0, "p99_ms": 75.0},
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


def full(**extra) -> dict:
    """A run with every step's figures: batch, sustained, stored, backlog, CDC."""
    sustained = {
        "seconds": 60.0,
        "rate": 3300.0,
        "lag_max": 2500,
        "lag_bounded": True,
        "lag_not_growing": True,
        "lag_samples": [{"t_s": 1.0, "accepted": 3000, "lag": 2500}],
    }
    return results(
        batch={"concurrency": 8, "rate": 9900.0, "p50_ms": 700.0, "p99_ms": 900.0},
        sustained=sustained,
        stored_vs_fresh={
            "concurrency": 32,
            "fresh": {"rate": 600.0, "B_flask_rate": 750.0, "ratio": 0.8},
            "stored": {"rate": 570.0, "B_flask_rate": 750.0, "ratio": 0.76},
            "seeded": {"gifts": 3_000_000, "rows": {"gifting.gifts": 3_000_000, "payout.inbox": 3_000_000}},
        },
        cdc={
            "end_to_end": {"concurrency": 32, "p50_ms": 25.0, "p99_ms": 45.0},
            "sustained": {**sustained, "rate": 2000.0},
        },
        **extra,
    )


def test_the_batch_api_is_compared_with_b_flask_at_its_own_client_count():
    out = targets(full())
    # B_flask did 900/s at c=8 (its best, 1000/s, was at c=32): 9900 / 900 = 11.
    assert out["batch_gifts_vs_B_flask"] == {"ratio": 11.0, "target": ">= 10", "met": True, "concurrency": 8}


def test_the_batch_ratio_is_the_median_of_its_alternating_rounds_when_it_has_them():
    rounds = [
        {"B_flask_rate": 700.0, "rate": 7700.0, "ratio": 11.0},
        {"B_flask_rate": 800.0, "rate": 7200.0, "ratio": 9.0},
    ]
    rounds.append({"B_flask_rate": 750.0, "rate": 7650.0, "ratio": 10.2})
    batch = {"concurrency": 32, "rate": 7650.0, "rounds": rounds, "median_ratio": 10.2}
    out = targets(results(batch=batch))  # the sweep's B_flask (here 900/s at c=8) no longer counts
    assert out["batch_gifts_vs_B_flask"] == {
        "ratio": 10.2,
        "target": ">= 10",
        "met": True,
        "concurrency": 32,
        "measured": "median of 3 alternating rounds",
    }


def test_the_batch_api_is_set_beside_a_bare_sql_ledger_as_information():
    ledger = {"concurrency": 32, "rate": 3000.0, "transfers": 90000, "balanced": True}
    out = targets(results(batch={"concurrency": 32, "rate": 6000.0}, B_ledger=ledger))
    assert out["info_batch_gifts_vs_B_ledger"]["ratio"] == 2.0
    assert out["info_batch_gifts_vs_B_ledger"]["target"].startswith("none (information")
    skipped = targets(results(batch={"concurrency": 32, "rate": 6000.0}, B_ledger={"skipped": "no pgbench"}))
    assert "info_batch_gifts_vs_B_ledger" not in skipped


def test_pgbench_s_report_is_read_for_rate_latency_and_failures():
    from bench.baselines import pgbench_figures

    out = """transaction type: ledger.pgbench
number of clients: 16
number of transactions actually processed: 15195
number of failed transactions: 0 (0.000%)
latency average = 5.200 ms
initial connection time = 21.904 ms
tps = 3075.198811 (without initial connection time)
"""
    assert pgbench_figures(out) == {"failed": 0, "mean_ms": 5.2, "rate": 3075.2}


def test_sustained_end_to_end_needs_the_rate_and_a_lag_bounded_and_not_growing():
    out = targets(full())
    assert out["sustained_e2e_vs_B_flask"]["ratio"] == 3.3  # 3300 / B_flask's best 1000
    assert out["sustained_e2e_vs_B_flask"]["met"] is True
    growing = full()
    growing["sustained"]["lag_not_growing"] = False
    entry = targets(growing)["sustained_e2e_vs_B_flask"]
    assert entry["ratio"] == 3.3 and entry["met"] is False and entry["lag_not_growing"] is False
    unbounded = full()
    unbounded["sustained"]["lag_bounded"] = False
    assert targets(unbounded)["sustained_e2e_vs_B_flask"]["met"] is False


def test_end_to_end_latencies_carry_milliseconds_as_their_ratio():
    out = targets(full())
    assert out["e2e_p50_ms"] == {"ratio": 12.0, "target": "<= 20", "met": True, "unit": "ms"}
    assert out["e2e_p99_ms"] == {"ratio": 75.0, "target": "<= 50", "met": False, "unit": "ms"}


def test_stored_against_fresh_says_how_much_was_stored():
    out = targets(full())
    assert out["stored_vs_fresh"]["ratio"] == 0.95 and out["stored_vs_fresh"]["met"] is True
    assert out["stored_vs_fresh"]["stored_gifts"] == 3_000_000
    assert out["stored_vs_fresh"]["stored_rows"] == 6_000_000


def test_stored_against_fresh_is_the_ratio_of_each_sides_paired_b_flask_ratio():
    """The machine slowed between the sides (B_flask 800/s, then 600/s): the rates alone would read
    450 / 600 = 0.75, the paired ratios 0.75 / 0.75 = 1.0."""
    paired = {
        "concurrency": 32,
        "fresh": {"rate": 600.0, "B_flask_rate": 800.0, "ratio": 0.75},
        "stored": {"rate": 450.0, "B_flask_rate": 600.0, "ratio": 0.75},
        "seeded": {"gifts": 3_000_000, "rows": {"gifting.gifts": 3_000_000}},
    }
    assert targets({**full(), "stored_vs_fresh": paired})["stored_vs_fresh"]["ratio"] == 1.0


def test_debezium_figures_are_information_beside_the_relays():
    out = targets(full())
    assert out["info_cdc_e2e_p50_ms"]["ratio"] == 25.0 and out["info_cdc_e2e_p50_ms"]["met"] is False
    assert out["info_cdc_e2e_p99_ms"]["met"] is True
    assert out["info_cdc_sustained_e2e_vs_B_flask"]["ratio"] == 2.0
    assert out["info_cdc_sustained_e2e_vs_B_flask"]["met"] is False
    # Today's entries are all still there beside the new ones.
    assert {"gift_api_vs_B_flask", "hot_vs_uniform", "end_to_end_p99_vs_budget", "consumer_backlog_vs_B_pg_c1"} <= set(
        out
    )


def test_a_run_without_the_optional_steps_has_no_entries_for_them():
    out = targets(results())
    assert not {"batch_gifts_vs_B_flask", "sustained_e2e_vs_B_flask", "stored_vs_fresh"} & set(out)
    assert not [name for name in out if name.startswith("info_cdc")]


def test_a_run_of_some_steps_has_the_targets_of_their_figures_and_reports_them(tmp_path):
    from bench.report import notes, plot, table

    sustained = {
        "seconds": 60.0,
        "concurrency": 8,
        "offered_rate": 2000.0,
        "rate": 1990.0,
        "lag_max": 2500,
        "lag_bounded": True,
        "lag_not_growing": True,
        "lag_samples": [{"t_s": 1.0, "accepted": 2000, "lag": 2500}],
        "capacity": {"measured": "a probe", "backlog": 40_000, "seconds": 18.0, "rate": 2222.2},
        "tries": [
            {"offered_rate": 2000.0, "rate": 1990.0, "seconds": 60.0, "lag_max": 2500, "lag_bound": 6000}
            | {"lag_bounded": True, "lag_not_growing": True, "lags": [2500]}
        ],
    }
    run = {
        "machine": {"cpus": 2},
        "B_pg": [{"concurrency": 8, "rate": 400.0, "p50_ms": 1.0, "p99_ms": 2.0}],
        "B_flask": [{"concurrency": 8, "rate": 500.0, "p50_ms": 1.0, "p99_ms": 2.0}],
        "B_kafka": {"end_to_end_rate": 9000.0, "p50_ms": 1.0, "p99_ms": 3.0},
        "sustained": sustained,
    }
    run["targets"] = targets(run)
    assert set(run["targets"]) == {"sustained_e2e_vs_B_flask"}
    assert run["targets"]["sustained_e2e_vs_B_flask"] | {"lag_max": 0} == {
        "ratio": 3.98,
        "target": ">= 3",
        "met": True,
        "lag_max": 0,
        "lag_bounded": True,
        "lag_not_growing": True,
        "seconds": 60.0,
        "offered_rate": 2000.0,
        "tries": 1,
    }
    assert table(run, "t").row_count == 4
    lines = notes(run)
    assert any("capacity 2222.2" in line for line in lines) and any("try 1: offered 2000.0" in line for line in lines)
    plot(run, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0
